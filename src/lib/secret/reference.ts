import {ENV_NAME} from '../env-names.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {SourcePlugin} from './source.js'
import {BUILTIN_SOURCES} from './sources/index.js'

/**
 * The one reference grammar, used wherever a secret is named (README "References"):
 *
 *   NAME[#PATH]                          resolve NAME through the chain
 *   context://NAME  env://NAME  dotenv://NAME      one local source only
 *   aws-sm://SECRET_ID[?stage=S|version-id=V][#PATH]  one AWS secret, by name or ARN
 *   arn:aws:secretsmanager:...[?...][#PATH]          the same, written as a bare ARN
 *   block://TYPE/NAME[#FIELD]            a field of a block document (block/source.ts; default field: value)
 *
 * PATH picks a value out of a JSON secret: `password`, a dotted path `db.primary.host`, or an
 * RFC 6901 JSON Pointer `/keys/0` for keys that hold dots. `%XX` escapes any character in a
 * name (`%23` for `#`, `%3F` for `?`).
 */

/** Through the chain, or one source alone (its kind), by name or id, optionally pinned to a version. */
export interface ReferenceTarget {
  /** 'chain', or the kind of the one source the reference addresses. */
  kind: string
  name: string
  /** A run source's own region and role (keyflow.json, --source '{...}'); the reference text has no syntax for them. */
  region?: string
  role?: string
  versionId?: string
  versionStage?: string
}

export interface SecretReference {
  /** Keys to walk in a JSON value; empty for the whole value. */
  path: string[]
  target: ReferenceTarget
  /** The reference as written; references are not secret and may be shown. */
  text: string
  /** Set by a source resolving references it holds (a block's fields): what led here, outermost first, so a cycle is refused. */
  via?: readonly string[]
}

const schemeTables = new WeakMap<readonly SourcePlugin[], Record<string, SourcePlugin>>()

/** The schemes the source plug-ins declare, built once per list (a run may parse thousands of references). */
function schemeTable(plugins: readonly SourcePlugin[]): Record<string, SourcePlugin> {
  let table = schemeTables.get(plugins)
  if (!table) {
    table = Object.fromEntries(plugins.flatMap((plugin) => plugin.schemes.map((scheme) => [scheme, plugin])))
    schemeTables.set(plugins, table)
  }

  return table
}

const MAX_NAME_LENGTH = 2048

export function referenceError(text: string, column: number, length: number, problem: string, fix: string): KeyflowError {
  const caret = ' '.repeat(column) + '^'.repeat(Math.max(1, length))
  return new KeyflowError(`Malformed reference: ${problem}`, {
    code: 'MALFORMED_REFERENCE',
    details: [text, caret],
    exit: ExitCode.USAGE,
    fix: `${fix} See README "References".`,
    where: `reference ${JSON.stringify(text)}, column ${column + 1}`,
  })
}

function percentDecode(raw: string, text: string, offset: number): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    const bad = /%(?![\da-f]{2})/i.exec(raw)?.index ?? 0
    throw referenceError(text, offset + bad, 3, 'a % escape must be followed by two hex digits.', 'Write % as %25.')
  }
}

function checkName(name: string, rawName: string, text: string, offset: number): void {
  if (name === '') throw referenceError(text, offset, 1, 'the name is empty.', 'Name the secret, e.g. DB_PASSWORD.')
  if (name.length > MAX_NAME_LENGTH) {
    throw referenceError(text, offset, rawName.length, `the name is longer than ${MAX_NAME_LENGTH} characters.`, 'Use a shorter name.')
  }

  // The written text is checked, so the caret lands right and a %XX escape is allowed.
  // eslint-disable-next-line no-control-regex
  const bad = /[\s\u0000-\u001F\u007F]/.exec(rawName)
  if (bad) {
    throw referenceError(text, offset + bad.index, 1, 'names cannot hold spaces or control characters.', 'Escape it as %XX if it is really part of the name.')
  }
}

function parsePath(fragment: string, text: string, offset: number): string[] {
  if (fragment === '') throw referenceError(text, offset - 1, 1, 'nothing follows #.', 'Name a key after #, e.g. #password, or drop the #.')
  if (fragment.startsWith('/')) {
    // RFC 6901: ~1 is "/", ~0 is "~"; any key can be written this way.
    return decodeSegments(fragment.slice(1).split('/'), '/', text, offset + 1).map((segment) =>
      segment.replaceAll('~1', '/').replaceAll('~0', '~'),
    )
  }

  const segments = fragment.split('.')
  const empty = segments.indexOf('')
  if (empty !== -1) {
    const column = offset + segments.slice(0, empty).join('.').length + (empty > 0 ? 1 : 0)
    throw referenceError(text, column, 1, 'the key path has an empty segment.', 'Separate keys with single dots, or use a JSON Pointer (#/a.b/c) for keys that hold dots.')
  }

  return decodeSegments(segments, '.', text, offset)
}

/** Decodes each segment, with a caret at the segment's own place in `text` when one is bad. */
function decodeSegments(segments: string[], separator: string, text: string, offset: number): string[] {
  let position = offset
  return segments.map((segment) => {
    const decoded = percentDecode(segment, text, position)
    position += segment.length + separator.length
    return decoded
  })
}

function parseVersionParameters(query: string, text: string, offset: number): {versionId?: string; versionStage?: string} {
  const result: {versionId?: string; versionStage?: string} = {}
  let position = offset
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=')
    const key = equals === -1 ? pair : pair.slice(0, equals)
    const value = equals === -1 ? '' : percentDecode(pair.slice(equals + 1), text, position + equals + 1)
    if (key === 'stage' || key === 'version-stage') {
      if (value === '' || value.length > 256) {
        throw referenceError(text, position, pair.length, 'stage needs a value of 1 to 256 characters.', 'Write ?stage=AWSPREVIOUS, for example.')
      }

      result.versionStage = value
    } else if (key === 'version-id') {
      if (!/^[\w-]{32,64}$/.test(value)) {
        throw referenceError(text, position, pair.length, 'version-id must be 32 to 64 letters, digits, dashes or underscores.', 'Copy the VersionId from `keyflow secret get --json` or the AWS console.')
      }

      result.versionId = value
    } else {
      throw referenceError(text, position, Math.max(1, key.length), `unknown parameter "${key}".`, 'AWS references take stage=STAGE and version-id=ID.')
    }

    position += pair.length + 1
  }

  return result
}

export function parseReference(text: string, plugins: readonly SourcePlugin[] = BUILTIN_SOURCES): SecretReference {
  if (typeof text !== 'string' || text === '') {
    throw referenceError(String(text ?? ''), 0, 1, 'the reference is empty.', 'Name a secret, e.g. DB_PASSWORD.')
  }

  const schemes = schemeTable(plugins)
  let plugin: SourcePlugin | undefined
  let rest = text
  let offset = 0
  const scheme = /^([a-z][\d+.a-z-]*):\/\//i.exec(text)
  if (scheme) {
    const lower = scheme[1].toLowerCase()
    // Own keys only: "constructor" is a property of every object.
    plugin = Object.hasOwn(schemes, lower) ? schemes[lower] : undefined
    if (!plugin) {
      throw referenceError(text, 0, scheme[1].length, `unknown scheme "${scheme[1]}".`, `Known schemes: ${Object.keys(schemes).sort().join('://, ')}://.`)
    }

    offset = scheme[0].length
    rest = text.slice(offset)
  } else {
    plugin = plugins.find((candidate) => candidate.claims?.(text))
  }

  const hash = rest.indexOf('#')
  const main = hash === -1 ? rest : rest.slice(0, hash)
  const path = hash === -1 ? [] : parsePath(rest.slice(hash + 1), text, offset + hash + 1)
  const question = main.indexOf('?')
  const rawName = question === -1 ? main : main.slice(0, question)
  const name = percentDecode(rawName, text, offset)
  checkName(name, rawName, text, offset)

  if (question !== -1 && !plugin?.versioned) {
    throw referenceError(text, offset + question, main.length - question, 'version parameters apply only to AWS references.', 'Write aws-sm://NAME?stage=STAGE to pin a version.')
  }

  if (!plugin) return {path, target: {kind: 'chain', name}, text}
  const parameters = question === -1 ? {} : parseVersionParameters(main.slice(question + 1), text, offset + question + 1)
  return {path, target: {kind: plugin.kind, name, ...parameters}, text}
}

/** The name a reference is known by in env output and run injection when no alias is given. */
export function defaultKey(reference: SecretReference, plugins: readonly SourcePlugin[] = BUILTIN_SOURCES): string {
  const {target} = reference
  const plugin = plugins.find((candidate) => candidate.kind === target.kind)
  const base = plugin?.defaultKey ? plugin.defaultKey(target.name) : target.name
  return reference.path.length === 0 ? base : reference.path.at(-1)!
}

export {ENV_NAME} from '../env-names.js'

export interface AliasedReference {
  /** The variable name to use: the alias, or the reference's default key. */
  key: string
  reference: SecretReference
}

/**
 * `ALIAS=REFERENCE` or a plain reference. The text before the first `=` is an alias only if it
 * is a valid environment variable name; write `%3D` for an `=` that belongs to a name.
 */
export function parseAliasedReference(text: string, plugins: readonly SourcePlugin[] = BUILTIN_SOURCES): AliasedReference {
  const equals = text.indexOf('=')
  if (equals > 0 && ENV_NAME.test(text.slice(0, equals))) {
    return {key: text.slice(0, equals), reference: parseReference(text.slice(equals + 1), plugins)}
  }

  const reference = parseReference(text, plugins)
  return {key: defaultKey(reference, plugins), reference}
}
