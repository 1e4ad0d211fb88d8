import {ExitCode, isKeyflowError, KeyflowError} from '../errors.js'
import {AliasedReference, ENV_NAME, parseAliasedReference, parseReference} from '../secret/reference.js'
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
 *     "withhold": ["aws"], "killAfter": "10s", "allowSourceKeys": ["NODE_OPTIONS"]
 *   }
 *
 * `secrets` may also be a list of strings written as --secret takes them (NAME or ALIAS=REF).
 */

export const ENV_STYLES = ['prefect', 'plain', 'both'] as const
export type EnvStyle = (typeof ENV_STYLES)[number]
export const MASK_MODES = ['auto', 'always', 'never'] as const
export type MaskMode = (typeof MASK_MODES)[number]

export interface SecretDeclaration extends AliasedReference {
  optional: boolean
  /** Where it was declared, for messages: a flag or a place in the project file. */
  origin: string
}

export interface SourceDeclaration {
  optional: boolean
  origin: string
  reference: AliasedReference['reference']
}

export interface RunDeclarations {
  allowSourceKeys: string[]
  blocks: Array<{name: string; optional: boolean; origin: string}>
  envStyle?: EnvStyle
  killAfterMs?: number
  mask?: MaskMode
  maskEncodings?: MaskEncoding[]
  pristine?: boolean
  secrets: SecretDeclaration[]
  sources: SourceDeclaration[]
  withhold: WithholdGroup[]
}

const KNOWN_KEYS = ['allowSourceKeys', 'blocks', 'envStyle', 'killAfter', 'mask', 'maskEncodings', 'pristine', 'secrets', 'sources', 'withhold']
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
export function parseSource(text: string): SourceDeclaration['reference'] {
  return parseReference(/^[a-z][\d+.a-z-]*:\/\//i.test(text) || text.startsWith('arn:') ? text : `aws-sm://${text}`)
}

function entry(raw: unknown, where: string, what: string): {optional: boolean; text: string} {
  if (typeof raw === 'string') return {optional: false, text: raw}
  if (isPlainObject(raw)) {
    const unknown = Object.keys(raw).filter((key) => !['id', 'optional', 'ref'].includes(key))
    const text = raw.ref ?? raw.id
    if (unknown.length > 0 || typeof text !== 'string' || (raw.optional !== undefined && typeof raw.optional !== 'boolean')) {
      throw invalid(`Each ${what} must be a string or {"${what === 'source' ? 'id' : 'ref'}": "...", "optional": true}.`, where, `Fix the ${what} entry.`)
    }

    return {optional: raw.optional === true, text}
  }

  throw invalid(`Each ${what} must be a string or an object.`, where, `Fix the ${what} entry.`)
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

function secrets(raw: unknown, where: string): SecretDeclaration[] {
  if (isPlainObject(raw)) {
    return Object.entries(raw).map(([key, value]) => {
      const at = `${where}.${key}`
      // {"NAME": {"optional": true}} resolves NAME itself.
      const written = isPlainObject(value) && value.ref === undefined ? {...value, ref: key} : value
      const {optional, text} = entry(written, at, 'secret')
      return {key, optional, origin: at, reference: declared(at, () => parseReference(text))}
    })
  }

  return list(raw, where).map((item, index) => {
    const at = `${where}[${index}]`
    const {optional, text} = entry(item, at, 'secret')
    return {...declared(at, () => parseAliasedReference(text)), optional, origin: at}
  })
}

/** A list of names; `check` refuses a bad one. */
function names(raw: unknown, where: string, check: (name: string) => boolean, what: string): string[] {
  return list(raw, where).map((item, index) => {
    if (typeof item !== 'string' || !check(item)) throw invalid(`Each entry must be ${what}.`, `${where}[${index}]`, `Write ${what}.`)
    return item
  })
}

export function parseRunSection(raw: unknown, file: string | undefined): RunDeclarations {
  const empty: RunDeclarations = {allowSourceKeys: [], blocks: [], secrets: [], sources: [], withhold: []}
  if (raw === undefined) return empty
  const where = `${file ?? 'keyflow.json'} run`
  if (!isPlainObject(raw)) throw invalid('The run section must be a JSON object.', where, 'Wrap it in { }.')
  const unknown = Object.keys(raw).filter((key) => !KNOWN_KEYS.includes(key))
  if (unknown.length > 0) throw invalid(`Unknown key ${unknown.map((key) => `"${key}"`).join(', ')} in the run section.`, where, `Known keys: ${KNOWN_KEYS.join(', ')}.`)
  if (raw.pristine !== undefined && typeof raw.pristine !== 'boolean') throw invalid('pristine must be true or false.', `${where}.pristine`, 'Write true or false.')

  return {
    allowSourceKeys: names(raw.allowSourceKeys, `${where}.allowSourceKeys`, (name) => ENV_NAME.test(name), 'a variable name'),
    blocks: list(raw.blocks, `${where}.blocks`).map((item, index) => {
      const at = `${where}.blocks[${index}]`
      const {optional, text} = entry(item, at, 'block')
      return {name: text, optional, origin: at}
    }),
    envStyle: oneOf(raw.envStyle, ENV_STYLES, `${where}.envStyle`),
    killAfterMs: raw.killAfter === undefined ? undefined : parseDuration(raw.killAfter, `${where}.killAfter`),
    mask: oneOf(raw.mask, MASK_MODES, `${where}.mask`),
    maskEncodings: raw.maskEncodings === undefined ? undefined : parseMaskEncodings(raw.maskEncodings, `${where}.maskEncodings`),
    pristine: raw.pristine as boolean | undefined,
    secrets: secrets(raw.secrets, `${where}.secrets`),
    sources: list(raw.sources, `${where}.sources`).map((item, index) => {
      const at = `${where}.sources[${index}]`
      const {optional, text} = entry(item, at, 'source')
      return {optional, origin: at, reference: declared(at, () => parseSource(text))}
    }),
    withhold: names(raw.withhold, `${where}.withhold`, (name) => (WITHHOLD_GROUPS as readonly string[]).includes(name), `one of: ${WITHHOLD_GROUPS.join(', ')}`) as WithholdGroup[],
  }
}
