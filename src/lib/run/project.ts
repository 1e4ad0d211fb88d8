import {ROLE_ARN, ROLE_ARN_EXAMPLE} from '../aws/arn.js'
import {ExitCode, isKeyflowError, KeyflowError} from '../errors.js'
import {AliasedReference, ENV_NAME, parseAliasedReference, parseReference} from '../secret/reference.js'
import {SourcePlugin} from '../secret/source.js'
import {isPlainObject} from '../util/json.js'
import {MaskEncoding, parseMaskEncodings} from './encodings.js'
import {WITHHOLD_GROUPS, WithholdGroup} from './environment.js'

/**
 * The `run` section of keyflow.json (docs/run.md "The project file"): what a flow needs, so
 * `keyflow run -- python flow.py` takes no flags.
 *
 *   "run": {
 *     "secrets": {"DB_PASSWORD": "db-credentials#password", "SLACK_URL": {"ref": "slack", "optional": true}},
 *     "sources": ["app/shared-env", {"id": "app/extra-env", "optional": true}],
 *     "blocks": ["aws-credentials/prod"],
 *     "envStyle": "prefect", "mask": "auto", "maskEncodings": "json,url,base64", "pristine": false,
 *     "withhold": ["aws"], "killAfter": "10s", "allowSourceKeys": ["NODE_OPTIONS"], "allowOverride": false
 *   }
 *
 * `secrets` may also be a list of strings written as --secret takes them (NAME or ALIAS=REF).
 * Each entry may carry its own "envStyle"; a source also Metaflow's "type", "options" ({json,
 * env_var_name, region}) and "role". --secret and --source take the same object form as JSON.
 */

export const ENV_STYLES = ['prefect', 'plain', 'both'] as const
export type EnvStyle = (typeof ENV_STYLES)[number]
export const MASK_MODES = ['auto', 'always', 'never'] as const
export type MaskMode = (typeof MASK_MODES)[number]

/** Where each kind of declaration is injected unless it says otherwise (docs/run.md "Styles"). */
export const DEFAULT_STYLES = {block: 'prefect', secret: 'prefect', source: 'plain'} as const satisfies Record<string, EnvStyle>

export interface SecretDeclaration extends AliasedReference {
  envStyle?: EnvStyle
  optional: boolean
  /** Where it was declared, for messages: a flag or a place in the project file. */
  origin: string
}

/** Metaflow's per-source options (aws-secrets-manager provider). */
export interface SourceOptions {
  /** With json false: the one variable's name (default: the secret's name). */
  envVarName?: string
  /** False: the secret is one value, not an object of them. */
  json: boolean
}

export interface SourceDeclaration {
  envStyle?: EnvStyle
  optional: boolean
  options: SourceOptions
  origin: string
  reference: AliasedReference['reference']
}

export interface RunDeclarations {
  allowOverride?: boolean
  allowSourceKeys: string[]
  blocks: Array<{envStyle?: EnvStyle; name: string; optional: boolean; origin: string}>
  envStyle?: EnvStyle
  killAfterMs?: number
  mask?: MaskMode
  maskEncodings?: MaskEncoding[]
  pristine?: boolean
  secrets: SecretDeclaration[]
  sources: SourceDeclaration[]
  withhold: WithholdGroup[]
}

const KNOWN_KEYS = ['allowOverride', 'allowSourceKeys', 'blocks', 'envStyle', 'killAfter', 'mask', 'maskEncodings', 'pristine', 'secrets', 'sources', 'withhold']
const DURATION_UNITS: Record<string, number> = {'': 1000, h: 3_600_000, m: 60_000, ms: 1, s: 1000}

/** A duration as timeout(1) takes it: a number of seconds, or with a unit (500ms, 10s, 2m, 1h). */
export function parseDuration(raw: unknown, where: string): number {
  const match = typeof raw === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|)$/.exec(raw.trim()) : null
  if (!match) {
    throw new KeyflowError('Expected a duration.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Write a number of seconds, or one with a unit: 500ms, 10s, 2m, 1h.', where})
  }

  return Math.round(Number(match[1]) * DURATION_UNITS[match[2]])
}

function invalid(message: string, where: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'INVALID_RUN_SECTION', exit: ExitCode.USAGE, fix: `${fix} See docs/run.md "The project file".`, where})
}

/** Runs `parse`, putting the flag or project-file location into a malformed reference's error. */
export function declared<T>(origin: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (!isKeyflowError(error)) throw error
    throw new KeyflowError(error.message, {code: error.code, details: error.details, exit: error.exit, fix: error.fix, where: `${origin}: ${error.where ?? ''}`})
  }
}

/**
 * A source is an AWS secret id unless written as a full reference (aws-sm://, dotenv://, an
 * ARN), so Metaflow's plain ids work as they are.
 */
const METAFLOW_AWS_TYPE = 'aws-secrets-manager'

export function parseSource(text: string, plugins: readonly SourcePlugin[]): SourceDeclaration['reference'] {
  // Metaflow's "TYPE.ID" string form, for the one type keyflow has.
  const id = text.startsWith(`${METAFLOW_AWS_TYPE}.`) ? text.slice(METAFLOW_AWS_TYPE.length + 1) : text
  return parseReference(/^[a-z][\d+.a-z-]*:\/\//i.test(id) || id.startsWith('arn:') ? id : `aws-sm://${id}`, plugins)
}

interface Entry {
  envStyle?: EnvStyle
  optional: boolean
  raw: Record<string, unknown>
  text: string
}

const SOURCE_OPTIONS = ['env_var_name', 'json', 'region']
const ENTRY_KEYS = {block: ['envStyle', 'optional', 'ref'], secret: ['envStyle', 'optional', 'ref'], source: ['envStyle', 'id', 'optional', 'options', 'role', 'type']}

function entry(raw: unknown, where: string, what: keyof typeof ENTRY_KEYS): Entry {
  if (typeof raw === 'string') return {optional: false, raw: {}, text: raw}
  const shape = `{"${what === 'source' ? 'id' : 'ref'}": "...", "optional": true, "envStyle": "plain"${what === 'source' ? ', "options": {"json": false, "env_var_name": "NAME", "region": "REGION"}, "role": "ROLE_ARN"' : ''}}`
  if (isPlainObject(raw)) {
    const unknown = Object.keys(raw).filter((key) => !ENTRY_KEYS[what].includes(key))
    const text = raw.ref ?? raw.id
    if (unknown.length > 0 || typeof text !== 'string' || (raw.optional !== undefined && typeof raw.optional !== 'boolean')) {
      throw invalid(`Each ${what} must be a string or ${shape}${unknown.length > 0 ? `; unknown key ${unknown.map((key) => `"${key}"`).join(', ')}` : ''}.`, where, `Fix the ${what} entry.`)
    }

    return {envStyle: oneOf(raw.envStyle, ENV_STYLES, `${where}.envStyle`), optional: raw.optional === true, raw, text}
  }

  throw invalid(`Each ${what} must be a string or an object.`, where, `Fix the ${what} entry.`)
}

/** A source entry: Metaflow's dict form {type, id, options, role} plus keyflow's optional and envStyle. */
export function sourceDeclaration(item: unknown, at: string, plugins: readonly SourcePlugin[]): SourceDeclaration {
  const {envStyle, optional, raw, text} = entry(item, at, 'source')
  if (raw.type !== undefined && raw.type !== METAFLOW_AWS_TYPE) {
    throw invalid(`Unknown source type ${JSON.stringify(raw.type)}.`, `${at}.type`, `keyflow reads sources from AWS Secrets Manager only: write "${METAFLOW_AWS_TYPE}" or leave type out.`)
  }

  const options = raw.options ?? {}
  if (!isPlainObject(options)) throw invalid('options must be an object.', `${at}.options`, 'Write {"json": false, "env_var_name": "NAME", "region": "eu-west-1"}.')
  const unknown = Object.keys(options).filter((key) => !SOURCE_OPTIONS.includes(key))
  if (unknown.length > 0) throw invalid(`Unknown option ${unknown.map((key) => `"${key}"`).join(', ')}.`, `${at}.options`, `Source options are ${SOURCE_OPTIONS.join(', ')}.`)
  if (options.json !== undefined && typeof options.json !== 'boolean') throw invalid('options.json must be true or false.', `${at}.options.json`, 'Write true or false.')
  if (options.env_var_name !== undefined && (typeof options.env_var_name !== 'string' || options.json !== false)) {
    throw invalid('options.env_var_name must be a string, and applies only with "json": false.', `${at}.options.env_var_name`, 'Add "json": false, or drop env_var_name.')
  }

  const reference = declared(at, () => parseSource(text, plugins))
  const region = placement(options.region, `${at}.options.region`, REGION, {plugins, reference})
  const role = placement(raw.role, `${at}.role`, ROLE, {plugins, reference})
  return {
    envStyle,
    optional,
    options: {envVarName: options.env_var_name as string | undefined, json: options.json !== false},
    origin: at,
    reference: region || role ? {...reference, target: {...reference.target, region, role}} : reference,
  }
}

/** us-east-1, eu-central-2, us-gov-west-1, cn-north-1: letters and dashes, then a digit. */
const REGION = {shape: /^[a-z]{2}(?:-[a-z]+)+-\d+$/, what: 'an AWS region, e.g. "eu-west-1"'}
const ROLE = {shape: ROLE_ARN, what: `an IAM role ARN, e.g. "${ROLE_ARN_EXAMPLE}"`}

/**
 * A source's own region or role (Metaflow's options.region and role), for a source that has
 * regions and roles (AWS). Whether the role may be assumed is STS's to say.
 */
function placement(
  raw: unknown,
  where: string,
  {shape, what}: {shape: RegExp; what: string},
  {plugins, reference}: {plugins: readonly SourcePlugin[]; reference: SourceDeclaration['reference']},
): string | undefined {
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || !shape.test(raw.trim())) throw invalid(`Expected ${what}.`, where, `Write ${what}, or drop it.`)
  if (!plugins.find((plugin) => plugin.kind === reference.target.kind)?.regionsAndRoles) {
    throw invalid(`A region and a role apply only to AWS Secrets Manager sources, not to ${JSON.stringify(reference.text)}.`, where, 'Drop it, or name an AWS secret (an id, aws-sm://ID or an ARN).')
  }

  return raw.trim()
}

/** A --secret or --source value: a reference, or the project file's object form written as JSON. */
export function flagEntry(text: string): unknown {
  if (!text.startsWith('{')) return text
  try {
    return JSON.parse(text)
  } catch {
    throw invalid('The flag value starts with { but is not JSON.', text, `Write the object form as JSON, e.g. '{"id": "app/env", "envStyle": "prefect"}'.`)
  }
}

function list(raw: unknown, where: string): unknown[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) throw invalid('Expected a list.', where, 'Write a JSON array.')
  return raw
}

function oneOf<T extends string>(raw: unknown, options: readonly T[], where: string): T | undefined {
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || !options.includes(raw as T)) throw invalid(`Expected one of: ${options.join(', ')}.`, where, `Use one of: ${options.join(', ')}.`)
  return raw as T
}

export function secretDeclaration(item: unknown, at: string, plugins: readonly SourcePlugin[], key?: string): SecretDeclaration {
  // {"NAME": {"optional": true}} resolves NAME itself.
  const written = key !== undefined && isPlainObject(item) && item.ref === undefined ? {...item, ref: key} : item
  const {envStyle, optional, text} = entry(written, at, 'secret')
  const aliased = key === undefined ? declared(at, () => parseAliasedReference(text, plugins)) : {key, reference: declared(at, () => parseReference(text, plugins))}
  return {...aliased, envStyle, optional, origin: at}
}

function secrets(raw: unknown, where: string, plugins: readonly SourcePlugin[]): SecretDeclaration[] {
  if (isPlainObject(raw)) return Object.entries(raw).map(([key, value]) => secretDeclaration(value, `${where}.${key}`, plugins, key))
  return list(raw, where).map((item, index) => secretDeclaration(item, `${where}[${index}]`, plugins))
}

/** A list of names; `check` refuses a bad one. */
function names(raw: unknown, where: string, check: (name: string) => boolean, what: string): string[] {
  return list(raw, where).map((item, index) => {
    if (typeof item !== 'string' || !check(item)) throw invalid(`Each entry must be ${what}.`, `${where}[${index}]`, `Write ${what}.`)
    return item
  })
}

/** The project file's run section; references are parsed with the invocation's plug-ins (block:// included). */
export function parseRunSection(raw: unknown, file: string | undefined, plugins: readonly SourcePlugin[]): RunDeclarations {
  const empty: RunDeclarations = {allowSourceKeys: [], blocks: [], secrets: [], sources: [], withhold: []}
  if (raw === undefined) return empty
  const where = `${file ?? 'keyflow.json'} run`
  if (!isPlainObject(raw)) throw invalid('The run section must be a JSON object.', where, 'Wrap it in { }.')
  const unknown = Object.keys(raw).filter((key) => !KNOWN_KEYS.includes(key))
  if (unknown.length > 0) throw invalid(`Unknown key ${unknown.map((key) => `"${key}"`).join(', ')} in the run section.`, where, `Known keys: ${KNOWN_KEYS.join(', ')}.`)
  for (const key of ['allowOverride', 'pristine']) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') throw invalid(`${key} must be true or false.`, `${where}.${key}`, 'Write true or false.')
  }

  return {
    allowOverride: raw.allowOverride as boolean | undefined,
    allowSourceKeys: names(raw.allowSourceKeys, `${where}.allowSourceKeys`, (name) => ENV_NAME.test(name), 'a variable name'),
    blocks: list(raw.blocks, `${where}.blocks`).map((item, index) => {
      const at = `${where}.blocks[${index}]`
      const {envStyle, optional, text} = entry(item, at, 'block')
      return {envStyle, name: text, optional, origin: at}
    }),
    envStyle: oneOf(raw.envStyle, ENV_STYLES, `${where}.envStyle`),
    killAfterMs: raw.killAfter === undefined ? undefined : parseDuration(raw.killAfter, `${where}.killAfter`),
    mask: oneOf(raw.mask, MASK_MODES, `${where}.mask`),
    maskEncodings: raw.maskEncodings === undefined ? undefined : parseMaskEncodings(raw.maskEncodings, `${where}.maskEncodings`),
    pristine: raw.pristine as boolean | undefined,
    secrets: secrets(raw.secrets, `${where}.secrets`, plugins),
    sources: list(raw.sources, `${where}.sources`).map((item, index) => sourceDeclaration(item, `${where}.sources[${index}]`, plugins)),
    withhold: names(raw.withhold, `${where}.withhold`, (name) => (WITHHOLD_GROUPS as readonly string[]).includes(name), `one of: ${WITHHOLD_GROUPS.join(', ')}`) as WithholdGroup[],
  }
}
