import {lstatSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {builtin} from '../util/builtin.js'
import {isPlainObject, parseJsonText} from '../util/json.js'
import {checkTrustedDir, ensureTrustedDir, readTrustedFile} from '../util/trusted-file.js'
import {SettingSpec, SettingSpecs, SettingValues, settingError as usage} from './spec.js'

/**
 * Settings and where each one came from. Precedence, highest first (README "Configuration"):
 *   1. command-line flags
 *   2. environment variables (KEYFLOW_*, then the AWS ones for region and profile)
 *   3. the project file, keyflow.json, found from the working directory upward
 *   4. the user config file, $KEYFLOW_HOME/config.json
 *   5. built-in defaults
 * This module is the engine; the table of settings is composed from the sources that declare
 * them (src/lib/secret/sources/index.ts), and resolved once per invocation (src/lib/invocation.ts).
 */

export const PROJECT_FILE_NAME = 'keyflow.json'

/** What every resolution knows besides the settings themselves. */
export interface SettingsBase {
  cwd: string
  /** The environment keyflow was started with; sources read it, nothing writes it. */
  env: NodeJS.ProcessEnv
  home: string
  /** Where each setting came from, for --explain. */
  origins: Record<string, string>
  /** The project file's raw content, for sections other modules own (e.g. `run`). */
  projectConfig: Record<string, unknown>
  projectFile?: string
}

export type ResolvedSettingsOf<S extends SettingSpecs> = SettingsBase & SettingValues<S>

/** Top-level sections of a config file that other modules own (`run`) or that name a schema. */
const OTHER_SECTIONS = ['$schema', 'run']

export interface SettingsInput {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Values from command-line flags, keyed by setting. */
  flags?: Record<string, unknown>
}

/**
 * os.homedir(), which on POSIX is $HOME whenever HOME is set (empty or not) and the password
 * database's entry otherwise (on Windows, USERPROFILE first). node:os is loaded only where it is
 * asked: loading it costs every `secret get` about 0.2 ms, 3% of what it adds to starting Node.
 */
const homeDir = () =>
  process.platform !== 'win32' && process.env.HOME !== undefined ? process.env.HOME : builtin<typeof import('node:os')>('node:os').homedir()

export function keyflowHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KEYFLOW_HOME || join(homeDir(), '.keyflow'))
}

/**
 * Whether KEYFLOW_HOME exists, after checking it may be trusted: it holds the master key, the
 * store, config.json and secrets.env. It may be a symbolic link to a directory the user owns.
 */
export function checkHome(home: string): boolean {
  return checkTrustedDir(home, HOME)
}

/** checkHome, creating the directory 0700 when absent. */
export function ensureHome(home: string): void {
  ensureTrustedDir(home, HOME)
}

const HOME = {followLink: true, what: 'keyflow home (KEYFLOW_HOME)'}

/** keyflow.json in the working directory or the nearest parent; KEYFLOW_PROJECT_FILE overrides. */
export function findProjectFile(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.KEYFLOW_PROJECT_FILE !== undefined) {
    return env.KEYFLOW_PROJECT_FILE === '' ? undefined : resolve(cwd, env.KEYFLOW_PROJECT_FILE)
  }

  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, PROJECT_FILE_NAME)
    // lstat: a planted symbolic link is found, and refused, rather than skipped.
    if (lstatSync(candidate, {throwIfNoEntry: false})) return candidate
    if (dirname(dir) === dir) return undefined
  }
}

/**
 * A config file decides where secrets come from and whether `run` masks them, so it is read
 * as a trusted file (src/lib/util/trusted-file.ts), as git refuses a repository another user
 * owns: a keyflow.json dropped into a shared parent directory (/tmp) must not steer keyflow.
 * Only a path the user named (KEYFLOW_PROJECT_FILE) may be a symbolic link.
 */
function readConfigFile(path: string, what: string, named: boolean): unknown {
  const file = readTrustedFile(path, {followLink: named, what})
  if (!file) {
    throw new KeyflowError(`Cannot read the ${what}: no such file.`, {code: 'FILE_NOT_FOUND', exit: ExitCode.NOT_FOUND, fix: 'Check the path.', where: path})
  }

  return parseJsonText(file.bytes.toString('utf8').replace(/^\uFEFF/, ''), path, what)
}

function loadConfig(specs: SettingSpecs, path: string, what: string, named = false): Record<string, unknown> {
  const content = readConfigFile(path, what, named)
  if (!isPlainObject(content)) {
    throw usage(`The ${what} must hold a JSON object.`, path, 'Wrap the settings in { }.')
  }

  const configKeys = new Set([...Object.values(specs).map(({configPath}) => configPath[0]), ...OTHER_SECTIONS])
  const unknown = Object.keys(content).filter((key) => !configKeys.has(key))
  if (unknown.length > 0) {
    throw usage(
      `Unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')} in the ${what}.`,
      path,
      `Known keys: ${[...configKeys].filter((key) => key !== '$schema').sort().join(', ')}.`,
    )
  }

  // A misspelt setting would otherwise be ignored without a word, e.g. aws.regoin or blocks.stroe.
  const sections = new Set(Object.values(specs).flatMap(({configPath}) => (configPath.length > 1 ? [configPath[0]] : [])))
  for (const section of sections) {
    if (content[section] === undefined) continue
    const known = Object.values(specs).flatMap(({configPath}) => (configPath[0] === section ? [configPath[1]] : []))
    if (!isPlainObject(content[section])) throw usage(`"${section}" in the ${what} must be an object.`, path, `Write "${section}": {"${known[0]}": ...}, for example.`)
    const unknownKeys = Object.keys(content[section]).filter((key) => !known.includes(key))
    if (unknownKeys.length > 0) {
      throw usage(
        `Unknown key${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((key) => `"${section}.${key}"`).join(', ')} in the ${what}.`,
        path,
        `Known keys under ${section}: ${known.join(', ')}.`,
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

/** The working directory, which a shell can leave after removing it (`rmdir "$PWD"`): a usage error, not a crash. */
function workingDirectory(): string {
  try {
    return process.cwd()
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error
    throw new KeyflowError('The current directory no longer exists.', {code: 'CWD_GONE', exit: ExitCode.USAGE, fix: 'cd to a directory that exists, then run keyflow again.'})
  }
}

export function resolveSettings<S extends SettingSpecs>(specs: S, input: SettingsInput = {}): ResolvedSettingsOf<S> {
  const env = input.env ?? process.env
  const cwd = resolve(input.cwd ?? workingDirectory())
  const home = keyflowHome(env)
  const projectFile = findProjectFile(cwd, env)
  const projectConfig = projectFile ? loadConfig(specs, projectFile, 'project file', env.KEYFLOW_PROJECT_FILE !== undefined) : {}
  const userFile = join(home, 'config.json')
  const userConfig = checkHome(home) && lstatSync(userFile, {throwIfNoEntry: false}) ? loadConfig(specs, userFile, 'user config file') : {}
  const layers: Layer[] = [
    ...(projectFile ? [{config: projectConfig, dir: dirname(projectFile), file: projectFile}] : []),
    {config: userConfig, dir: home, file: userFile},
  ]

  const origins: Record<string, string> = {}
  const values: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(specs) as Array<[string, SettingSpec<unknown>]>) {
    const found = pickSetting(spec, input.flags?.[key], env, layers)
    if (found) {
      const parsed = spec.parse(found.raw, found.where)
      values[key] = spec.paths ? withBaseDir(parsed, found.baseDir ?? cwd) : parsed
      origins[key] = found.where
    } else if (spec.default !== undefined) {
      values[key] = spec.default
      origins[key] = 'default'
    }
  }

  return {...(values as SettingValues<S>), cwd, env, home, origins, projectConfig, projectFile}
}

/** Relative paths in a setting (a list of paths, or a target's path) taken from `dir`. */
function withBaseDir(value: unknown, dir: string): unknown {
  if (Array.isArray(value)) return value.map((path) => resolve(dir, String(path)))
  if (isPlainObject(value) && typeof value.path === 'string') return {...value, path: resolve(dir, value.path)}
  return value
}

interface Layer {
  config: Record<string, unknown>
  dir: string
  file: string
}

function pickSetting(
  spec: SettingSpec<unknown>,
  flagValue: unknown,
  env: NodeJS.ProcessEnv,
  layers: Layer[],
): undefined | {baseDir?: string; raw: unknown; where: string} {
  if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) {
    return {raw: flagValue, where: `flag --${spec.flag}`}
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

/** Settings given as command-line flags, keyed by flag name, turned into SettingsInput.flags. */
export function settingsFlags(specs: SettingSpecs, flags: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(specs)) {
    const value = flags[spec.flag]
    if (value !== undefined) result[key] = value
  }

  return result
}
