import {ExitCode, KeyflowError} from '../../errors.js'
import {Chain, combinedFailure, Resolution, resolveReferences} from '../../secret/chain.js'
import {parseReference} from '../../secret/reference.js'
import {isPlainObject} from '../../util/json.js'
import {BlockContext} from '../context.js'
import {BlockAddress, envPart, formatAddress, parseBlockAddress} from '../names.js'
import {prefetchDocuments} from '../store/prefetch.js'
import {StoreKind} from '../store/store.js'
import {BlockData, isBlockMarker, isRefMarker, visitPath} from './fields.js'
import {documentKey, openData, requireDocument} from './records.js'
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
  /** Which store answered. */
  store: StoreKind
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

/** How block:// loads the documents its references name (block/source.ts); a plain load resolves every field. */
export interface LoadOptions {
  /** Per address: resolve only the secret fields at or under these dotted paths (the rest keep their markers). */
  fields?: ReadonlyArray<readonly string[] | undefined>
  /** Per address: what was being resolved when it was asked for (block://), carried into its references so a cycle is refused. */
  via?: ReadonlyArray<readonly string[] | undefined>
}

const within = (path: string, wanted: readonly string[] | undefined) =>
  !wanted || wanted.some((field) => path === field || path.startsWith(`${field}.`) || field.startsWith(`${path}.`))

/**
 * Loads documents with nested blocks and references resolved, all of them together: one store
 * batch per level of nesting (a connector and its credentials: two round trips on the aws
 * store), one resolution of every secret reference. Each entry settles on its own, so one
 * missing block does not hide the others.
 */
export async function resolveBlocks(invocation: Invocation, addresses: string[], options: LoadOptions = {}): Promise<Array<PromiseSettledResult<ResolvedBlock>>> {
  const context = await invocation.blocks()
  const {plugins} = invocation.chain
  const parsed = addresses.map((address) => {
    try {
      return parseBlockAddress(address)
    } catch (error) {
      return error as Error
    }
  })
  const keys = parsed.flatMap((address) => (address instanceof Error ? [] : [documentKey(address)]))
  const loading = {...context, store: await prefetchDocuments(context.store, keys)}
  const materialized = await Promise.allSettled(
    parsed.map(async (address) => {
      if (address instanceof Error) throw address
      return {address, ...(await materialize(loading, address, []))}
    }),
  )

  // Only secret fields hold references: a {"$ref"} anywhere else is plain data, never resolved.
  const holders: Array<{entry: number; holder: Record<string, unknown>; key: string; path: string}> = []
  for (const [entry, result] of materialized.entries()) {
    if (result.status === 'rejected') continue
    for (const path of result.value.secretPaths) {
      if (!within(path, options.fields?.[entry])) continue
      visitPath(result.value.data, path, (holder, key, concrete) => {
        if (isRefMarker(holder[key])) holders.push({entry, holder, key, path: concrete})
      })
    }
  }

  const failed = new Map<number, unknown>()
  if (holders.length > 0) {
    const references = holders.map(({entry, holder, key, path}) => {
      const {address} = (materialized[entry] as PromiseFulfilledResult<{address: BlockAddress}>).value
      const reference = storedReference((holder[key] as {$ref: string}).$ref, plugins, `${formatAddress(address)}#${path}`)
      // The field that holds it, TYPE/NAME#FIELD, as block:// names it (block/source.ts refuses a field already on this path).
      return {...reference, via: [...(options.via?.[entry] ?? []), `${formatAddress(address)}#${path}`]}
    })
    const resolutions = await resolveReferences(references, invocation.chain)
    for (const entry of new Set(holders.map((holder) => holder.entry))) {
      const mine = holders.flatMap((holder, index) => (holder.entry === entry ? [index] : []))
      const failure = combinedFailure(mine.map((index) => resolutions[index]))
      if (failure) {
        failed.set(entry, failure)
        continue
      }

      try {
        for (const index of mine) holders[index].holder[holders[index].key] = text((resolutions[index] as Extract<Resolution, {ok: true}>).value, references[index].text)
      } catch (error) {
        failed.set(entry, error)
      }
    }
  }

  return materialized.map((result, entry): PromiseSettledResult<ResolvedBlock> => {
    if (result.status === 'rejected') return result
    if (failed.has(entry)) return {reason: failed.get(entry), status: 'rejected'}
    const {address, data, secretPaths} = result.value
    const secretValues: string[] = []
    for (const path of secretPaths) {
      visitPath(data, path, (holder, key) => {
        const value = holder[key]
        if (value !== undefined && value !== null && value !== '') secretValues.push(typeof value === 'string' ? value : JSON.stringify(value))
      })
    }

    return {status: 'fulfilled', value: {address: formatAddress(address), data, secretPaths, secretValues, store: context.store.kind, type: address.type}}
  })
}

/** Loads a document with nested blocks and references resolved; see loadBlock for the plain data. */
export async function resolveBlock(invocation: Invocation, address: string): Promise<ResolvedBlock> {
  const [result] = await resolveBlocks(invocation, [address])
  if (result.status === 'rejected') throw result.reason
  return result.value
}

export interface BlockEnvEntry {
  /** The environment variable name. */
  name: string
  /** The field's dotted path in the block. */
  path: string
  secret: boolean
  value: string
}


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
  const [result] = await blockEnvs(invocation, [address], prefixOption)
  if (result.status === 'rejected') throw result.reason
  return result.value
}

/** blockEnv of several blocks, loaded together (one store batch per level of nesting); each settles on its own. */
export async function blockEnvs(invocation: Invocation, addresses: string[], prefixOption?: string): Promise<Array<PromiseSettledResult<BlockEnvEntry[]>>> {
  if (prefixOption !== undefined && prefixOption !== '' && !/^[A-Z_a-z]\w*$/.test(prefixOption)) {
    throw new KeyflowError(`${JSON.stringify(prefixOption)} is not a valid environment variable prefix.`, {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Use letters, digits and underscores.'})
  }

  const blocks = await resolveBlocks(invocation, addresses)
  return blocks.map((result, index) => {
    if (result.status === 'rejected') return result
    try {
      return {status: 'fulfilled', value: envEntries(result.value, prefixOption ?? blockEnvPrefix(addresses[index]))}
    } catch (error) {
      return {reason: error, status: 'rejected'}
    }
  })
}

function envEntries(block: ResolvedBlock, prefix: string): BlockEnvEntry[] {
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

/**
 * A reference as stored: it was checked when written, so one that does not parse now means the
 * record was edited outside keyflow (an integrity error, exit 8), not a mistyped argument.
 */
function storedReference(text: string, plugins: Parameters<typeof parseReference>[1], where: string): ReturnType<typeof parseReference> {
  try {
    return parseReference(text, plugins)
  } catch (error) {
    const reason = error instanceof KeyflowError ? error.message : String(error)
    throw new KeyflowError(`The stored reference in ${where} cannot be read: ${reason}`, {
      code: 'STORED_REFERENCE_INVALID',
      exit: ExitCode.INTEGRITY,
      fix: `The document was changed outside keyflow. Set the field again: keyflow block update ${where.split('#')[0]} --field ${where.split('#')[1]}=REFERENCE`,
      where,
    })
  }
}
