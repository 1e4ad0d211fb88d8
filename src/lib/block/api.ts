import type {SnowflakeConnectorConfig, SnowflakeCredentialsConfig} from '../snowflake/config.js'

import {ExitCode, KeyflowError} from '../errors.js'
import {ResolveOptions} from '../secret/api.js'
import {combinedFailure, Resolution, resolveReferences} from '../secret/chain.js'
import {parseReference} from '../secret/reference.js'
import {isPlainObject} from '../settings/json-file.js'
import {resolveSettings} from '../settings/settings.js'
import {BlockContext, openBlocks} from './context.js'
import {BlockData, isBlockMarker, isRefMarker, visitPath} from './document.js'
import {documentKey, openData, requireDocument} from './documents.js'
import {BlockAddress, formatAddress, parseBlockAddress} from './names.js'
import {prefetchDocuments} from './store/prefetch.js'
import {BlockStore, StoreKind} from './store/store.js'
import {validateData, validationError} from './validate.js'

/**
 * Blocks as a library, for TypeScript flows:
 *
 *   import {loadBlock} from 'keyflow'
 *   const sf = await loadBlock('snowflake-connector/prod')   // typed SnowflakeConnectorBlock
 *   sf.credentials.password                                     // resolved, decrypted
 *
 * Nested documents are loaded in place, secret references are resolved through the chain
 * (all at once, AWS in batches), literal secrets are decrypted. Settings come from the same
 * places as on the command line; `options` overrides them as flags would.
 */

export interface AwsClientParameters {
  api_version?: string
  config?: Record<string, unknown>
  endpoint_url?: string
  use_ssl?: boolean
  verify?: boolean | string
  verify_cert_path?: string
}

export interface AwsCredentialsBlock {
  assume_role_arn?: string
  assume_role_kwargs?: Record<string, unknown>
  aws_access_key_id?: string
  aws_client_parameters?: AwsClientParameters
  aws_secret_access_key?: string
  aws_session_token?: string
  profile_name?: string
  region_name?: string
}

export interface AwsSecretBlock {
  aws_credentials: AwsCredentialsBlock
  secret_name: string
}

export interface SecretBlock {
  value: string
}

/** The snowflake-credentials and snowflake-connector blocks are exactly what the connector takes. */
export type SnowflakeCredentialsBlock = SnowflakeCredentialsConfig
export type SnowflakeConnectorBlock = SnowflakeConnectorConfig

export interface BuiltinBlocks {
  'aws-credentials': AwsCredentialsBlock
  'aws-secret': AwsSecretBlock
  secret: SecretBlock
  'snowflake-connector': SnowflakeConnectorBlock
  'snowflake-credentials': SnowflakeCredentialsBlock
}

/** The data type of a `type/name` address: a built-in's interface, else a plain record. */
export type BlockOf<Address extends string> = Address extends `${infer Type}/${string}`
  ? Type extends keyof BuiltinBlocks
    ? BuiltinBlocks[Type]
    : Record<string, unknown>
  : Record<string, unknown>

export interface LoadBlockOptions extends ResolveOptions {
  /** `local`, `aws`, or a store object; default: the `blocks.store` setting (KEYFLOW_BLOCK_STORE, keyflow.json), else local. */
  store?: BlockStore | StoreKind
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

/**
 * Loads documents with nested blocks and references resolved, all of them together: one
 * batch per level of nesting from the store, one resolution of every secret reference. Each
 * entry settles on its own, so one missing block does not hide the others.
 */
export async function resolveBlocks(addresses: string[], options: LoadBlockOptions = {}): Promise<Array<PromiseSettledResult<ResolvedBlock>>> {
  const settings = resolveSettings({cwd: options.cwd, env: options.env, flags: options.settings})
  const context = openBlocks({settings, store: options.store})
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
  const holders: Array<{entry: number; holder: Record<string, unknown>; key: string}> = []
  for (const [entry, result] of materialized.entries()) {
    if (result.status === 'rejected') continue
    for (const path of result.value.secretPaths) {
      visitPath(result.value.data, path, (holder, key) => {
        if (isRefMarker(holder[key])) holders.push({entry, holder, key})
      })
    }
  }

  const failed = new Map<number, unknown>()
  if (holders.length > 0) {
    const references = holders.map(({holder, key}) => parseReference((holder[key] as {$ref: string}).$ref))
    const resolutions = await resolveReferences(references, settings)
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
export async function resolveBlock(address: string, options: LoadBlockOptions = {}): Promise<ResolvedBlock> {
  const [result] = await resolveBlocks([address], options)
  if (result.status === 'rejected') throw result.reason
  return result.value
}

/** A block's data, typed for the built-in types, with nested blocks and references resolved. */
export async function loadBlock<Address extends string>(address: Address, options: LoadBlockOptions = {}): Promise<BlockOf<Address>> {
  return (await resolveBlock(address, options)).data as BlockOf<Address>
}

export interface BlockEnvEntry {
  /** The environment variable name. */
  name: string
  /** The field's dotted path in the block. */
  path: string
  secret: boolean
  value: string
}

export interface BlockEnvOptions extends LoadBlockOptions {
  /** Replaces the TYPE__NAME part of every variable name. */
  prefix?: string
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
export async function blockEnv(address: string, options: BlockEnvOptions = {}): Promise<BlockEnvEntry[]> {
  const [result] = await blockEnvs([address], options)
  if (result.status === 'rejected') throw result.reason
  return result.value
}

/** blockEnv of several blocks, loaded together (one batch per level of nesting); each settles on its own. */
export async function blockEnvs(addresses: string[], options: BlockEnvOptions = {}): Promise<Array<PromiseSettledResult<BlockEnvEntry[]>>> {
  const {prefix} = options
  if (prefix !== undefined && prefix !== '' && !/^[A-Z_a-z]\w*$/.test(prefix)) {
    throw new KeyflowError(`${JSON.stringify(prefix)} is not a valid environment variable prefix.`, {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Use letters, digits and underscores.'})
  }

  const blocks = await resolveBlocks(addresses, options)
  return blocks.map((result, index) => {
    if (result.status === 'rejected') return result
    try {
      return {status: 'fulfilled', value: envEntries(result.value, prefix ?? blockEnvPrefix(addresses[index]))}
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
