import type {AwsCredentialsBlock, AwsSecretBlock} from './aws/block-types.js'
import type {BlockData} from './block/documents/fields.js'
import type {BlockEnvEntry, ResolvedBlock} from './block/documents/load.js'
import type {BlockStore} from './block/store/store.js'
import type {DeleteOptions, DeleteResult, SetMetadata, WriteResult} from './secret/write/lifecycle.js'
import type {SnowflakeConnectorConfig, SnowflakeCredentialsConfig} from './snowflake/config.js'

import {KeyflowError} from './errors.js'
import {createInvocation, Invocation, Settings} from './invocation.js'
import {combinedFailure, Resolution, resolveReferences, TraceStep} from './secret/chain.js'
import {parseReference} from './secret/reference.js'
import {Provenance} from './secret/source.js'

/**
 * keyflow as a library, for TypeScript flows: each entry point builds one Invocation from its
 * options (or takes one) and calls what the CLI calls.
 *
 *   import {loadBlock, resolveSecret} from 'keyflow'
 *   const password = await resolveSecret('db-credentials#password')
 *   const sf = await loadBlock('snowflake-connector/prod')   // typed SnowflakeConnectorBlock
 *
 * Settings come from the same places as on the command line (KEYFLOW_* env vars, keyflow.json,
 * $KEYFLOW_HOME/config.json); pass `settings` to override them, as flags would.
 */

export interface ResolveOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** An invocation already built (the others options are then ignored). */
  invocation?: Invocation
  /** Overrides, as the CLI flags would give them, e.g. {awsRegion: 'eu-west-1', sources: ['env', 'aws']}. */
  settings?: Partial<Record<keyof Settings, unknown>>
}

export interface LoadBlockOptions extends ResolveOptions {
  /** Another store; default: the local store under $KEYFLOW_HOME/blocks. */
  store?: BlockStore
}

export interface BlockEnvOptions extends LoadBlockOptions {
  /** Replaces the TYPE__NAME part of every variable name. */
  prefix?: string
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

export type {AwsClientParameters, AwsCredentialsBlock, AwsSecretBlock} from './aws/block-types.js'
export type {BlockEnvEntry, ResolvedBlock} from './block/documents/load.js'
export {blockEnvPrefix} from './block/documents/load.js'
export type {DeleteOptions, DeleteResult, HistoryEntry, SetMetadata, WriteResult} from './secret/write/lifecycle.js'

function invocationFor(options: LoadBlockOptions): Invocation {
  return options.invocation ?? createInvocation({cwd: options.cwd, env: options.env, flags: options.settings, store: options.store})
}

/** Loads a document with nested blocks and references resolved; see loadBlock for the plain data. */
export async function resolveBlock(address: string, options: LoadBlockOptions = {}): Promise<ResolvedBlock> {
  const load = await import('./block/documents/load.js')
  return load.resolveBlock(invocationFor(options), address)
}

/** A block's data, typed for the built-in types, with nested blocks and references resolved. */
export async function loadBlock<Address extends string>(address: Address, options: LoadBlockOptions = {}): Promise<BlockOf<Address>> {
  return (await resolveBlock(address, options)).data as BlockData as BlockOf<Address>
}

/** A block's fields as environment variables (docs/blocks.md "Blocks as environment variables"). */
export async function blockEnv(address: string, options: BlockEnvOptions = {}): Promise<BlockEnvEntry[]> {
  const load = await import('./block/documents/load.js')
  return load.blockEnv(invocationFor(options), address, options.prefix)
}

/**
 * Prefect's `AwsSecret.read_secret()`: the secret named by an aws-secret block, read with the
 * block's own AWS credentials through the chain's AWS source (src/lib/aws/read-secret.ts).
 */
export async function readAwsSecret(
  block: AwsSecretBlock,
  version: {versionId?: string; versionStage?: string} = {},
  options: ResolveOptions = {},
): Promise<string | Uint8Array> {
  const read = await import('./aws/read-secret.js')
  return read.readAwsSecret(invocationFor(options), block, version)
}

/**
 * Prefect's `AwsSecret.write_secret(data)`: PutSecretValue, or CreateSecret when missing, with
 * the block's own credentials; bytes as SecretBinary, a string as SecretString. Returns the ARN.
 */
export async function writeAwsSecret(block: AwsSecretBlock, data: string | Uint8Array, options: ResolveOptions = {}): Promise<string> {
  const write = await import('./aws/write-secret.js')
  return write.writeAwsSecret(invocationFor(options), block, data)
}

/** Prefect's `AwsSecret.delete_secret()`: a 30-day recovery window by default, or `forceDeleteWithoutRecovery`. Returns the ARN. */
export async function deleteAwsSecret(
  block: AwsSecretBlock,
  deletion: {forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number} = {},
  options: ResolveOptions = {},
): Promise<string> {
  const write = await import('./aws/write-secret.js')
  return write.deleteAwsSecret(invocationFor(options), block, deletion)
}

/**
 * Stores a secret as `keyflow secret set` does: `NAME#key` sets one key of a JSON secret (a
 * compare-and-swap on AWS); bytes go to AWS as SecretBinary. Where: the reference's scheme, else
 * `settings.secretsWriteTo` ('aws', 'dotenv', 'dotenv=PATH'), else $KEYFLOW_HOME/secrets.env.
 */
export async function writeSecret(reference: string, value: string | Uint8Array, options: ResolveOptions & SetMetadata = {}): Promise<WriteResult> {
  const lifecycle = await import('./secret/write/lifecycle.js')
  return lifecycle.writeSecret(invocationFor(options), reference, value, options)
}

/** Removes a secret as `keyflow secret rm` does: a scheduled AWS deletion (7 days by default), or a dotenv file's lines. */
export async function deleteSecret(reference: string, options: DeleteOptions & ResolveOptions = {}): Promise<DeleteResult> {
  const lifecycle = await import('./secret/write/lifecycle.js')
  return lifecycle.deleteSecret(invocationFor(options), reference, options)
}

/** Cancels the scheduled deletion of an AWS secret. */
export async function restoreSecret(reference: string, options: ResolveOptions = {}): Promise<{arn: string; name: string; reference: string}> {
  const lifecycle = await import('./secret/write/lifecycle.js')
  return lifecycle.restoreSecret(invocationFor(options), reference)
}

/** The versions of an AWS secret, newest first. */
export async function secretHistory(reference: string, options: ResolveOptions = {}): Promise<Awaited<ReturnType<typeof import('./secret/write/lifecycle.js').secretHistory>>> {
  const lifecycle = await import('./secret/write/lifecycle.js')
  return lifecycle.secretHistory(invocationFor(options), reference)
}

export interface ResolvedSecret {
  provenance: Provenance
  reference: string
  value: string | Uint8Array
}


/** Resolves several references at once (AWS in batches); throws one error listing every failure. */
export async function resolveSecrets(references: string[], options: ResolveOptions = {}): Promise<ResolvedSecret[]> {
  const invocation = invocationFor(options)
  const resolutions = await resolveReferences(references.map((reference) => parseReference(reference, invocation.plugins)), invocation.chain)
  const failure = combinedFailure(resolutions)
  if (failure) throw failure
  return resolutions.map((resolution) => {
    const ok = resolution as Extract<Resolution, {ok: true}>
    return {provenance: ok.provenance, reference: ok.reference.text, value: ok.value}
  })
}

/** Resolves one reference to its value: a string, or bytes for a binary AWS secret. */
export async function resolveSecret(reference: string, options: ResolveOptions = {}): Promise<string | Uint8Array> {
  const [secret] = await resolveSecrets([reference], options)
  return secret.value
}

export interface Explanation {
  error?: KeyflowError
  ok: boolean
  provenance?: Provenance
  reference: string
  trace: TraceStep[]
}

/**
 * Which source answered a reference and why the others missed, like `secret get --explain`:
 * never the value, so a flow may log it.
 */
export async function explainSecret(reference: string, options: ResolveOptions = {}): Promise<Explanation> {
  const invocation = invocationFor(options)
  const [resolution] = await resolveReferences([parseReference(reference, invocation.plugins)], invocation.chain)
  return resolution.ok
    ? {ok: true, provenance: resolution.provenance, reference: resolution.reference.text, trace: resolution.trace}
    : {error: resolution.error, ok: false, reference: resolution.reference.text, trace: resolution.trace}
}
