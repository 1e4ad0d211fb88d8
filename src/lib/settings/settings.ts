import {existsSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {ExitCode, KeyflowError} from '../errors.js'
import {isPlainObject, readJsonFile} from './json-file.js'

/**
 * Settings and where each one came from. Precedence, highest first (README "Configuration"):
 *   1. command-line flags
 *   2. environment variables (KEYFLOW_*, then the AWS ones for region and profile)
 *   3. the project file, keyflow.json, found from the working directory upward
 *   4. the user config file, $KEYFLOW_HOME/config.json
 *   5. built-in defaults
 * Every setting is described once in SETTINGS; flags, env vars, files and --explain all read
 * that table.
 */

export const SOURCE_KINDS = ['context', 'env', 'dotenv', 'aws'] as const
export type SourceKind = (typeof SOURCE_KINDS)[number]

export const PROJECT_FILE_NAME = 'keyflow.json'

export interface Settings {
  awsConnectTimeoutMs: number
  awsMaxAttempts: number
  awsPrefix: string
  awsProfile?: string
  awsRegion?: string
  awsRequestTimeoutMs: number
  awsRetryMode: 'adaptive' | 'standard'
  /** A role to assume with STS for Secrets Manager calls (Metaflow's default secrets role). */
  awsRole?: string
  awsTotalTimeoutMs: number
  /** Env files named by the user; undefined means the defaults (./.env, then $KEYFLOW_HOME/secrets.env). */
  envFiles?: string[]
  sources: SourceKind[]
}

export type SettingKey = keyof Settings

export interface ResolvedSettings extends Settings {
  cwd: string
  /** The environment keyflow was started with; sources read it, nothing writes it. */
  env: NodeJS.ProcessEnv
  home: string
  /** Where each setting came from, for --explain. */
  origins: Partial<Record<SettingKey, string>>
  /** The project file's raw content, for sections other modules own (e.g. `run`). */
  projectConfig: Record<string, unknown>
  projectFile?: string
}

type Parser<T> = (raw: unknown, where: string) => T

interface SettingSpec<T> {
  /** Path in keyflow.json and config.json, e.g. ['aws', 'region']. */
  configPath: string[]
  default?: T
  /** Env vars, first set wins. */
  env: string[]
  parse: Parser<T>
  /** Relative paths in a config file are taken from the file's directory. */
  paths?: boolean
}

function usage(message: string, where: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'INVALID_SETTING', exit: ExitCode.USAGE, fix, where})
}

const text: Parser<string> = (raw, where) => {
  if (typeof raw !== 'string') throw usage(`Expected a string.`, where, 'Give a text value.')
  return raw
}

function integer(min: number, max: number): Parser<number> {
  return (raw, where) => {
    const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw usage(`Expected a whole number from ${min} to ${max}.`, where, `Set a number from ${min} to ${max}.`)
    }

    return value
  }
}

function oneOf<T extends string>(options: readonly T[]): Parser<T> {
  return (raw, where) => {
    if (typeof raw !== 'string' || !options.includes(raw as T)) {
      throw usage(`Expected one of: ${options.join(', ')}.`, where, `Use one of: ${options.join(', ')}.`)
    }

    return raw as T
  }
}

/**
 * A list given as an array (config files, repeated flags), taken item by item, or as one
 * separated string (an env var, a single flag), split: a path in an array may hold a `:`.
 */
function list<T>(item: Parser<T>, separator: RegExp): Parser<T[]> {
  return (raw, where) => {
    let parts: unknown[]
    if (Array.isArray(raw)) parts = raw
    else if (typeof raw === 'string') parts = raw.split(separator)
    else throw usage('Expected a list.', where, 'Give a list of values.')
    return parts.filter((part) => part !== '').map((part) => item(part, where))
  }
}

const sourceKind: Parser<SourceKind> = (raw, where) => {
  const value = typeof raw === 'string' ? raw.trim() : raw
  if (typeof value !== 'string' || !(SOURCE_KINDS as readonly string[]).includes(value)) {
    throw usage(
      `Unknown source ${JSON.stringify(value)}.`,
      where,
      `Sources are: ${SOURCE_KINDS.join(', ')} (comma-separated, in the order to try them).`,
    )
  }

  return value as SourceKind
}

const sourceList: Parser<SourceKind[]> = (raw, where) => {
  const sources = list(sourceKind, /,/)(raw, where)
  if (sources.length === 0) throw usage('The source list is empty.', where, `Name at least one of: ${SOURCE_KINDS.join(', ')}.`)
  const duplicate = sources.find((source, index) => sources.indexOf(source) !== index)
  if (duplicate) throw usage(`Source "${duplicate}" is listed twice.`, where, 'Name each source once.')
  return sources
}

export const SETTINGS: {[K in SettingKey]-?: SettingSpec<Settings[K]>} = {
  awsConnectTimeoutMs: {
    configPath: ['aws', 'connectTimeoutMs'],
    default: 3000,
    env: ['KEYFLOW_AWS_CONNECT_TIMEOUT_MS'],
    parse: integer(1, 600_000),
  },
  awsMaxAttempts: {
    configPath: ['aws', 'maxAttempts'],
    default: 3,
    env: ['KEYFLOW_AWS_MAX_ATTEMPTS'],
    parse: integer(1, 20),
  },
  awsPrefix: {configPath: ['aws', 'prefix'], default: '', env: ['KEYFLOW_AWS_PREFIX'], parse: text},
  awsProfile: {configPath: ['aws', 'profile'], env: ['KEYFLOW_AWS_PROFILE', 'AWS_PROFILE'], parse: text},
  awsRegion: {
    configPath: ['aws', 'region'],
    env: ['KEYFLOW_AWS_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
    parse: text,
  },
  awsRequestTimeoutMs: {
    configPath: ['aws', 'requestTimeoutMs'],
    default: 10_000,
    env: ['KEYFLOW_AWS_REQUEST_TIMEOUT_MS'],
    parse: integer(1, 600_000),
  },
  awsRetryMode: {
    configPath: ['aws', 'retryMode'],
    default: 'standard',
    env: ['KEYFLOW_AWS_RETRY_MODE'],
    parse: oneOf(['standard', 'adaptive'] as const),
  },
  awsRole: {configPath: ['aws', 'role'], env: ['KEYFLOW_AWS_ROLE', 'METAFLOW_DEFAULT_SECRETS_ROLE', 'METAFLOW_AWS_SECRETS_MANAGER_DEFAULT_ROLE'], parse: text},
  awsTotalTimeoutMs: {
    configPath: ['aws', 'totalTimeoutMs'],
    default: 60_000,
    env: ['KEYFLOW_AWS_TOTAL_TIMEOUT_MS'],
    parse: integer(1, 3_600_000),
  },
  envFiles: {configPath: ['envFiles'], env: ['KEYFLOW_ENV_FILES'], parse: list(text, /:/), paths: true},
  sources: {configPath: ['sources'], default: [...SOURCE_KINDS], env: ['KEYFLOW_SOURCES'], parse: sourceList},
}

/** Top-level keys a config file may hold; other modules own some of them (e.g. `run`). */
const CONFIG_KEYS = new Set(['$schema', 'aws', 'blocks', 'envFiles', 'run', 'sources'])

export interface SettingsInput {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Values from command-line flags, keyed by setting. */
  flags?: Partial<{[K in SettingKey]: unknown}>
}

export function keyflowHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KEYFLOW_HOME || join(homedir(), '.keyflow'))
}

/** keyflow.json in the working directory or the nearest parent; KEYFLOW_PROJECT_FILE overrides. */
export function findProjectFile(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.KEYFLOW_PROJECT_FILE !== undefined) {
    return env.KEYFLOW_PROJECT_FILE === '' ? undefined : resolve(cwd, env.KEYFLOW_PROJECT_FILE)
  }

  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, PROJECT_FILE_NAME)
    if (existsSync(candidate)) return candidate
    if (dirname(dir) === dir) return undefined
  }
}

/**
 * A config file decides where secrets come from and whether `run` masks them, so one that
 * another user owns or may write is refused, as git refuses a repository another user owns:
 * a keyflow.json dropped into a shared parent directory (/tmp) must not steer keyflow.
 */
function checkConfigTrust(path: string, what: string): void {
  let stats
  try {
    stats = statSync(path)
  } catch {
    return // readJsonFile reports the file as it is
  }

  const uid = process.getuid?.()
  const foreign = uid !== undefined && stats.uid !== uid
  // eslint-disable-next-line no-bitwise -- permission bits
  const writableByOthers = (stats.mode & 0o022) !== 0
  if (foreign || writableByOthers) {
    throw new KeyflowError(`The ${what} is ${foreign ? 'owned by another user' : 'writable by group or others'}; keyflow will not take settings from it.`, {
      code: 'CONFIG_UNTRUSTED',
      exit: ExitCode.INTEGRITY,
      fix: foreign ? 'Remove it, or set KEYFLOW_PROJECT_FILE to a file you own (empty for none).' : `Make it private: chmod go-w ${path}`,
      where: path,
    })
  }
}

function loadConfig(path: string, what: string): Record<string, unknown> {
  checkConfigTrust(path, what)
  const content = readJsonFile(path, what)
  if (!isPlainObject(content)) {
    throw usage(`The ${what} must hold a JSON object.`, path, 'Wrap the settings in { }.')
  }

  const unknown = Object.keys(content).filter((key) => !CONFIG_KEYS.has(key))
  if (unknown.length > 0) {
    throw usage(
      `Unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')} in the ${what}.`,
      path,
      `Known keys: ${[...CONFIG_KEYS].filter((key) => key !== '$schema').join(', ')}.`,
    )
  }

  // A misspelt setting would otherwise be ignored without a word, e.g. aws.regoin.
  if (content.aws !== undefined) {
    const known = Object.values(SETTINGS).flatMap(({configPath}) => (configPath[0] === 'aws' ? [configPath[1]] : []))
    if (!isPlainObject(content.aws)) throw usage(`"aws" in the ${what} must be an object.`, path, `Write "aws": {"region": "eu-west-1"}, for example.`)
    const unknownAws = Object.keys(content.aws).filter((key) => !known.includes(key))
    if (unknownAws.length > 0) {
      throw usage(
        `Unknown key${unknownAws.length > 1 ? 's' : ''} ${unknownAws.map((key) => `"aws.${key}"`).join(', ')} in the ${what}.`,
        path,
        `Known keys under aws: ${known.join(', ')}.`,
      )
    }
  }

  return content
}

function lookupPath(object: Record<string, unknown>, path: string[]): unknown {
  let current: unknown = object
  for (const key of path) {
    if (!isPlainObject(current)) return undefined
    current = current[key]
  }

  return current
}

export function resolveSettings(input: SettingsInput = {}): ResolvedSettings {
  const env = input.env ?? process.env
  const cwd = resolve(input.cwd ?? process.cwd())
  const home = keyflowHome(env)
  const projectFile = findProjectFile(cwd, env)
  const projectConfig = projectFile ? loadConfig(projectFile, 'project file') : {}
  const userFile = join(home, 'config.json')
  const userConfig = existsSync(userFile) ? loadConfig(userFile, 'user config file') : {}
  const layers: Array<{config: Record<string, unknown>; dir: string; file: string}> = [
    ...(projectFile ? [{config: projectConfig, dir: dirname(projectFile), file: projectFile}] : []),
    {config: userConfig, dir: home, file: userFile},
  ]

  const origins: Partial<Record<SettingKey, string>> = {}
  const values: Partial<Settings> = {}
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const spec = SETTINGS[key] as SettingSpec<unknown>
    const found = pickSetting(key, spec, input.flags?.[key], env, layers)
    if (found) {
      const parsed = spec.parse(found.raw, found.where)
      ;(values as Record<string, unknown>)[key] =
        spec.paths && Array.isArray(parsed) ? parsed.map((path) => resolve(found.baseDir ?? cwd, String(path))) : parsed
      origins[key] = found.where
    } else if (spec.default !== undefined) {
      ;(values as Record<string, unknown>)[key] = spec.default
      origins[key] = 'default'
    }
  }

  return {...(values as Settings), cwd, env, home, origins, projectConfig, projectFile}
}

function pickSetting(
  key: SettingKey,
  spec: SettingSpec<unknown>,
  flagValue: unknown,
  env: NodeJS.ProcessEnv,
  layers: Array<{config: Record<string, unknown>; dir: string; file: string}>,
): undefined | {baseDir?: string; raw: unknown; where: string} {
  if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) {
    return {raw: flagValue, where: `flag --${flagName(key)}`}
  }

  for (const name of spec.env) {
    const value = env[name]
    if (value !== undefined && value !== '') return {raw: value, where: `env ${name}`}
  }

  for (const layer of layers) {
    const value = lookupPath(layer.config, spec.configPath)
    if (value !== undefined) return {baseDir: layer.dir, raw: value, where: `${layer.file} (${spec.configPath.join('.')})`}
  }

  return undefined
}

/** The command-line flag that sets a setting: awsRegion -> region, envFiles -> env-file. */
export function flagName(key: SettingKey): string {
  const names: Record<SettingKey, string> = {
    awsConnectTimeoutMs: 'aws-connect-timeout',
    awsMaxAttempts: 'aws-max-attempts',
    awsPrefix: 'prefix',
    awsProfile: 'profile',
    awsRegion: 'region',
    awsRequestTimeoutMs: 'aws-request-timeout',
    awsRetryMode: 'aws-retry-mode',
    awsRole: 'aws-role',
    awsTotalTimeoutMs: 'aws-total-timeout',
    envFiles: 'env-file',
    sources: 'sources',
  }
  return names[key]
}

/** Settings given as command-line flags, keyed by flag name, turned into SettingsInput.flags. */
export function settingsFlags(flags: Record<string, unknown>): SettingsInput['flags'] {
  const result: Record<string, unknown> = {}
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const value = flags[flagName(key)]
    if (value !== undefined) result[key] = value
  }

  return result
}
