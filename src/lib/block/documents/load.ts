import {ExitCode, KeyflowError} from '../../errors.js'
import {Chain, combinedFailure, Resolution, resolveReferences} from '../../secret/chain.js'
import {parseReference} from '../../secret/reference.js'
import {isPlainObject} from '../../util/json.js'
import {BlockContext} from '../context.js'
import {BlockAddress, formatAddress, parseBlockAddress} from '../names.js'
import {BlockData, isBlockMarker, isRefMarker, visitPath} from './fields.js'
import {openData, requireDocument} from './records.js'
import {validateData, validationError} from './validate.js'

/**
 * Loading a block for use: nested documents are loaded in place, secret references are
 * resolved through the invocation's chain (all at once, AWS in batches), literal secrets are
 * decrypted. The library's loadBlock and blockEnv (src/lib/library.ts), `run --block` and
 * `sql --block` all come here.
 */

/** What loading needs of the invocation (src/lib/invocation.ts): its block context and its chain. */
export interface Invocation {
  blocks(): Promise<BlockContext>
  readonly chain: Chain
}

export interface ResolvedBlock {
  address: string
  data: BlockData
  /** Dotted paths of the secret fields that hold a value, nested blocks included. */
  secretPaths: string[]
  /** The secret values, to mask in output (run uses this). */
  secretValues: string[]
  type: string
}

/** A block field holds text: a binary secret would be corrupted by decoding it, so it is refused. */
function text(value: string | Uint8Array, reference: string): string {
  if (typeof value === 'string') return value
  throw new KeyflowError(`Secret ${JSON.stringify(reference)} is binary; a block field can only hold text.`, {
    code: 'BINARY_SECRET',
    exit: ExitCode.BAD_VALUE,
    fix: 'Store the secret as text (base64, say), or reference a key of a JSON secret with #KEY.',
  })
}

async function materialize(context: BlockContext, address: BlockAddress, chain: string[]): Promise<{data: BlockData; secretPaths: string[]}> {
  const label = formatAddress(address)
  if (chain.includes(label)) {
    throw new KeyflowError(`Block ${label} references itself: ${[...chain, label].join(' -> ')}.`, {
      code: 'BLOCK_CYCLE',
      exit: ExitCode.VALIDATION,
      fix: 'Replace one of the references with an inline document.',
      where: chain[0],
    })
  }

  const document = await requireDocument(context, address)
  const type = await context.registry.get(address.type)
  const data = openData(context, document)
  const violations = await validateData(context, type, data)
  if (violations.length > 0) throw validationError(label, violations, document.where)
  const secretPaths: string[] = []
  for (const path of context.registry.secretPaths(type)) {
    visitPath(data, path, (holder, key, concrete) => {
      if (holder[key] !== undefined && holder[key] !== null && !isBlockMarker(holder[key])) secretPaths.push(concrete)
    })
  }

  for (const field of Object.keys(type.references)) {
    const value = data[field]
    if (!isBlockMarker(value)) continue
    // eslint-disable-next-line no-await-in-loop
    const nested = await materialize(context, parseBlockAddress(value.$block, `${label} field ${field}`), [...chain, label])
    data[field] = nested.data
    secretPaths.push(...nested.secretPaths.map((path) => `${field}.${path}`))
  }

  return {data, secretPaths}
}

/** Loads a document with nested blocks and references resolved; see loadBlock for the plain data. */
export async function resolveBlock(invocation: Invocation, address: string): Promise<ResolvedBlock> {
  const context = await invocation.blocks()
  const parsed = parseBlockAddress(address)
  await context.registry.all()
  const {data, secretPaths} = await materialize(context, parsed, [])

  // Only secret fields hold references: a {"$ref"} anywhere else is plain data, never resolved.
  const holders: Array<{holder: Record<string, unknown>; key: string}> = []
  for (const path of secretPaths) {
    visitPath(data, path, (holder, key) => {
      if (isRefMarker(holder[key])) holders.push({holder, key})
    })
  }

  if (holders.length > 0) {
    const references = holders.map(({holder, key}) => parseReference((holder[key] as {$ref: string}).$ref))
    const resolutions = await resolveReferences(references, invocation.chain)
    const failure = combinedFailure(resolutions)
    if (failure) throw failure
    for (const [index, {holder, key}] of holders.entries()) {
      holder[key] = text((resolutions[index] as Extract<Resolution, {ok: true}>).value, references[index].text)
    }
  }

  const secretValues: string[] = []
  for (const path of secretPaths) {
    visitPath(data, path, (holder, key) => {
      const value = holder[key]
      if (value !== undefined && value !== null && value !== '') secretValues.push(typeof value === 'string' ? value : JSON.stringify(value))
    })
  }

  return {address: formatAddress(parsed), data, secretPaths, secretValues, type: parsed.type}
}

export interface BlockEnvEntry {
  /** The environment variable name. */
  name: string
  /** The field's dotted path in the block. */
  path: string
  secret: boolean
  value: string
}


const envPart = (text: string) => text.toUpperCase().replaceAll(/\W/g, '_')

/** The environment variable prefix of a block: `snowflake-connector/prod` -> SNOWFLAKE_CONNECTOR__PROD. */
export function blockEnvPrefix(address: string): string {
  const {name, type} = parseBlockAddress(address)
  return `${envPart(type)}__${envPart(name)}`
}

/**
 * A block's fields as environment variables (docs/blocks.md "Blocks as environment
 * variables"): PREFIX__FIELD, nested fields PREFIX__PARENT__CHILD, upper-cased, every
 * character other than a letter, digit or underscore turned into `_`. Strings are passed as
 * they are, numbers and booleans as JSON text, arrays as JSON; null and absent fields are left
 * out. `secret` marks values to mask.
 */
export async function blockEnv(invocation: Invocation, address: string, prefixOption?: string): Promise<BlockEnvEntry[]> {
  const block = await resolveBlock(invocation, address)
  const prefix = prefixOption === undefined ? blockEnvPrefix(address) : prefixOption
  if (prefix !== '' && !/^[A-Z_a-z]\w*$/.test(prefix)) {
    throw new KeyflowError(`${JSON.stringify(prefix)} is not a valid environment variable prefix.`, {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Use letters, digits and underscores.'})
  }

  const secret = new Set(block.secretPaths)
  const entries: BlockEnvEntry[] = []
  const walk = (value: unknown, path: string[], inSecret: boolean) => {
    const dotted = path.join('.')
    const isSecret = inSecret || secret.has(dotted)
    if (value === undefined || value === null) return
    if (isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key], isSecret)
      return
    }

    const name = [prefix, ...path.map((segment) => envPart(segment))].filter((part) => part !== '').join('__')
    entries.push({name, path: dotted, secret: isSecret, value: typeof value === 'string' ? value : JSON.stringify(value)})
  }

  walk(block.data, [], false)
  const seen = new Map<string, string>()
  for (const entry of entries) {
    const other = seen.get(entry.name)
    if (other !== undefined) {
      throw new KeyflowError(`Fields "${other}" and "${entry.path}" of ${block.address} both become ${entry.name}.`, {
        code: 'ENV_NAME_COLLISION',
        exit: ExitCode.USAGE,
        fix: 'Rename one of the keys.',
      })
    }

    seen.set(entry.name, entry.path)
  }

  return entries
}
