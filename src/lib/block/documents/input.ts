import {ExitCode, KeyflowError} from '../../errors.js'
import {parseReference} from '../../secret/reference.js'
import {SourcePlugin} from '../../secret/source.js'
import {isPlainObject, parseJsonText, readJsonFile} from '../../util/json.js'
import {isBlockAddress, parseBlockAddress} from '../names.js'
import {BlockType, Violation} from '../types/definition.js'
import {Registry} from '../types/registry.js'
import {BlockData, isBlockMarker, isRefMarker, isSecretMarker, visitPath} from './fields.js'

// Over 300 lines on purpose: every way a field value enters (a file, stdin, --field,
// --stdin-field, the prompt) goes through the same path parsing and secret-field rules.

/**
 * Field values for `block create` and `block update`, from a JSON file or stdin, `--field
 * PATH=VALUE` flags and `--stdin-field PATH`. Secret values never need the command line: a
 * `--field` on a secret field only takes a reference with a scheme (aws-sm://..., env://...),
 * stored as `{"$ref": ...}`; literals come from stdin, a file or the hidden prompt.
 */

export interface FieldInputFlags {
  field?: string[]
  'from-file'?: string
  'stdin-field'?: string
}

export interface FieldInfo {
  /** The nested block type, for a field that holds a block. */
  blockType?: string
  schema: Record<string, unknown>
  secret: boolean
}

/** What reading field input needs: the registry (nested types) and the reference schemes a secret field may hold. */
export interface FieldInputContext {
  plugins: readonly SourcePlugin[]
  registry: Registry
}

const SCHEME_REFERENCE = /^(?:[a-z][\d+.a-z-]*:\/\/|arn:)/i

function usage(message: string, fix: string, where?: string): KeyflowError {
  return new KeyflowError(message, {code: 'USAGE', exit: ExitCode.USAGE, fix, where})
}

const MAX_DEPTH = 100

/**
 * Input nested deeper than MAX_DEPTH is refused before anything walks it: the checks, merges
 * and encryption that follow recurse, and thousands of levels overflow the stack. This walk
 * goes level by level, without recursion.
 */
function checkDepth(value: unknown, where: string): void {
  let level = [value]
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > MAX_DEPTH) throw usage(`The input is nested more than ${MAX_DEPTH} levels deep.`, 'Block fields hold configuration: flatten the value, or store it as a JSON string.', where)
    level = level.flatMap((item) => (item !== null && typeof item === 'object' ? Object.values(item) : []))
  }
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function matchesSecret(paths: string[], concrete: string): boolean {
  const segments = concrete.split('.')
  return paths.some((path) => {
    const pattern = path.split('.')
    return pattern.length === segments.length && pattern.every((part, index) => part === '*' || part === segments[index])
  })
}

/** What a dotted field path names in a type, nested block types included. */
export async function fieldAt(registry: Registry, type: BlockType, path: string): Promise<FieldInfo | undefined> {
  const [field, ...rest] = path.split('.')
  // Own properties only: `__proto__` or `constructor` must not find Object.prototype's members.
  const schema = Object.hasOwn(type.fields.properties, field) ? type.fields.properties[field] : undefined
  if (!schema) return undefined
  if (typeof schema.blockType === 'string') {
    if (rest.length === 0) return {blockType: schema.blockType, schema, secret: false}
    return fieldAt(registry, await registry.get(schema.blockType), rest.join('.'))
  }

  let current: Record<string, unknown> = schema
  for (const segment of rest) {
    const properties = isPlainObject(current.properties) ? current.properties : undefined
    const next = properties && Object.hasOwn(properties, segment) ? properties[segment] : undefined
    if (!isPlainObject(next)) {
      if (current.type !== 'object') return undefined
      return {schema: {}, secret: matchesSecret(type.secretFields, path)}
    }

    current = next
  }

  return {schema: current, secret: matchesSecret(type.secretFields, path)}
}

/** A text value for a field: kept as text for string fields, else read as JSON when it parses. */
export function coerce(raw: string, schema: Record<string, unknown>): unknown {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  if (types.length === 1 && types[0] === 'string') return raw
  if (types[0] === undefined && Array.isArray(schema.enum) && schema.enum.every((item) => typeof item === 'string')) return raw
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** Sets an own property even for `__proto__`, as JSON.parse does, instead of changing a prototype. */
const setOwn = (holder: Record<string, unknown>, key: string, value: unknown) =>
  Object.defineProperty(holder, key, {configurable: true, enumerable: true, value, writable: true})

/** Paths come from the user (--field a.__proto__.b): walking them must never reach a prototype. */
export function setPath(data: BlockData, path: string, value: unknown): void {
  const segments = path.split('.')
  let holder: Record<string, unknown> = data
  for (const segment of segments.slice(0, -1)) {
    if (isBlockMarker(holder[segment])) {
      throw usage(`"${segment}" references ${(holder[segment] as {$block: string}).$block}; it has no fields of its own here.`, 'Update that document instead, or replace the reference with an inline document.', `field ${path}`)
    }

    if (!Object.hasOwn(holder, segment) || !isPlainObject(holder[segment])) setOwn(holder, segment, {})
    holder = holder[segment] as Record<string, unknown>
  }

  setOwn(holder, segments.at(-1)!, value)
}

export function unsetPath(data: BlockData, path: string): void {
  const segments = path.split('.')
  visitPath(data, segments.join('.'), (holder, key) => {
    delete holder[key]
  })
}

function rejectSealed(value: unknown, where: string): void {
  if (isSecretMarker(value)) {
    throw usage('Encrypted values ($secret) cannot be given as input.', 'Give the plain value through stdin or the prompt, or a {"$ref": "REFERENCE"}.', where)
  }

  if (isPlainObject(value)) for (const item of Object.values(value)) rejectSealed(item, where)
}

/**
 * Puts input into stored form: `TYPE/NAME` strings in nested block fields become references,
 * `{"$ref"}` in secret fields are checked against the reference grammar. Recurses into inline
 * nested documents.
 */
export async function normalize(input: FieldInputContext, type: BlockType, data: BlockData, where: string): Promise<BlockData> {
  const {plugins, registry} = input
  rejectSealed(data, where)
  const result: BlockData = {...data}
  for (const [field, slug] of Object.entries(type.references)) {
    const value = result[field]
    if (typeof value === 'string' && isBlockAddress(value)) result[field] = {$block: value}
    else if (isBlockMarker(value)) parseBlockAddress(value.$block, `${where}, field ${field}`)
    // eslint-disable-next-line no-await-in-loop
    else if (isPlainObject(value)) result[field] = await normalize(input, await registry.get(slug), value, where)
  }

  for (const path of type.secretFields) {
    visitPath(result, path, (holder, key) => {
      if (isRefMarker(holder[key])) parseReference((holder[key] as {$ref: string}).$ref, plugins)
    })
  }

  return result
}

function parseAssignment(text: string): {path: string; raw: string} {
  const equals = text.indexOf('=')
  const path = equals === -1 ? '' : text.slice(0, equals)
  if (equals <= 0 || !/^[A-Z_a-z]\w*(?:\.(?:\w|-)+)*$/.test(path)) {
    // Only the part before "=" is quoted: the value may be a secret typed by mistake.
    throw usage(`--field needs FIELD=VALUE${equals > 0 ? `, and "${text.slice(0, equals)}" is not a field path` : ''}.`, 'Write --field database=ANALYTICS, or --field credentials.account=xy12345 for a nested field.')
  }

  return {path, raw: text.slice(equals + 1)}
}

interface Assignment {
  /** The value came from argv, where a literal secret must not be. */
  fromArgv: boolean
  path: string
  raw: string
}

async function assign({plugins, registry}: FieldInputContext, type: BlockType, data: BlockData, {fromArgv, path, raw}: Assignment): Promise<void> {
  const info = await fieldAt(registry, type, path)
  if (!info) {
    throw usage(`${type.slug} has no field "${path}".`, `\`keyflow block type inspect ${type.slug}\` lists its fields.`, `field ${path}`)
  }

  if (info.blockType) {
    const address = raw.includes('/') ? raw : `${info.blockType}/${raw}`
    parseBlockAddress(address, `field ${path}`)
    setPath(data, path, {$block: address})
    return
  }

  if (info.secret && fromArgv) {
    if (!SCHEME_REFERENCE.test(raw)) {
      throw usage(
        `"${path}" is a secret field: its value must not be given on the command line (other users can read argv).`,
        `Give a reference instead (--field ${path}=aws-sm://NAME#KEY), pipe it with --stdin-field ${path}, use --from-file, or leave it out to be prompted.`,
        `field ${path}`,
      )
    }

    parseReference(raw, plugins)
    setPath(data, path, {$ref: raw})
    return
  }

  const value = coerce(raw, info.schema)
  checkDepth(value, `field ${path}`)
  setPath(data, path, value)
}

/** Reads the JSON input (file or `-` for stdin) and applies --field and --stdin-field on top. */
export async function gatherInput(input: FieldInputContext, type: BlockType, flags: FieldInputFlags, base: BlockData = {}): Promise<BlockData> {
  if (flags['from-file'] === '-' && flags['stdin-field']) {
    throw usage('--from-file - and --stdin-field both read stdin.', 'Use one of them.')
  }

  let data: BlockData = base
  const file = flags['from-file']
  if (file === undefined) {
    data = {...data}
  } else {
    const where = file === '-' ? 'stdin' : file
    const content = file === '-' ? parseJsonText(await readStdin(), 'stdin', 'JSON on stdin') : readJsonFile(file, 'JSON input file')
    if (!isPlainObject(content)) throw usage(`The input in ${where} must be a JSON object of fields.`, 'Write {"field": value, ...}.', where)
    checkDepth(content, where)
    data = {...data, ...(await normalize(input, type, content, where))}
  }

  for (const assignment of flags.field ?? []) {
    const {path, raw} = parseAssignment(assignment)
    // eslint-disable-next-line no-await-in-loop
    await assign(input, type, data, {fromArgv: true, path, raw})
  }

  const stdinField = flags['stdin-field']
  if (stdinField !== undefined) {
    const raw = (await readStdin()).replace(/\r?\n$/, '')
    await assign(input, type, data, {fromArgv: false, path: stdinField, raw})
  }

  return data
}

export interface AskOptions {
  hidden?: boolean
  /** A reason to ask again (shown under the prompt), or undefined to accept the answer. */
  validate?: (answer: string) => Promise<string | undefined> | string | undefined
}

/**
 * Prompts, on a terminal, for required fields still missing, then, if no secret field was
 * given at all, offers the type's optional secret fields one by one (Enter skips) until one is
 * answered (e.g. the Snowflake password, or else a private key or a token), then for fields
 * the type's rules require given the others (Snowflake's `user` for the default
 * authenticator). An answer that fails the type's checks is asked again, with the reason,
 * instead of failing the whole document at the end.
 */
export async function promptMissing(
  input: FieldInputContext,
  type: BlockType,
  data: BlockData,
  ask: (question: string, options: AskOptions) => Promise<string>,
  check: (data: BlockData) => Promise<Violation[]>,
): Promise<void> {
  const {registry} = input
  const problemWith = async (field: string, raw: string): Promise<string | undefined> => {
    const candidate = structuredClone(data)
    try {
      await assign(input, type, candidate, {fromArgv: false, path: field, raw})
    } catch (error) {
      if (error instanceof KeyflowError) return error.message
      throw error
    }

    return (await check(candidate)).find(({path}) => path === field || path.startsWith(`${field}.`))?.message
  }

  const prompt = async (field: string, optional: boolean): Promise<boolean> => {
    const info = (await fieldAt(registry, type, field))!
    const title = typeof info.schema.title === 'string' ? `${info.schema.title} (${field})` : field
    const hints = [info.blockType ? `name of a saved ${info.blockType} document` : '', info.secret ? 'hidden' : '', optional ? 'Enter to skip' : ''].filter(Boolean)
    const answer = await ask(`${title}${hints.length > 0 ? ` [${hints.join(', ')}]` : ''}`, {
      hidden: info.secret,
      validate: async (raw) => (raw === '' ? (optional ? undefined : `${field} is required`) : problemWith(field, raw)),
    })
    if (answer === '') return false
    await assign(input, type, data, {fromArgv: false, path: field, raw: answer})
    return true
  }

  for (const field of type.fields.required ?? []) {
    // eslint-disable-next-line no-await-in-loop
    if (data[field] === undefined) await prompt(field, false)
  }

  const secrets = type.secretFields.filter((path) => !path.includes('.'))
  if (!secrets.some((field) => data[field] !== undefined)) {
    for (const field of secrets) {
      // eslint-disable-next-line no-await-in-loop
      if (await prompt(field, true)) break
    }
  }

  const asked = new Set<string>()
  for (;;) {
    // eslint-disable-next-line no-await-in-loop
    const missing = (await check(data))
      .map(({path}) => path)
      .find((path) => Object.hasOwn(type.fields.properties, path) && data[path] === undefined && !asked.has(path))
    if (!missing) return
    asked.add(missing)
    // eslint-disable-next-line no-await-in-loop
    await prompt(missing, false)
  }
}
