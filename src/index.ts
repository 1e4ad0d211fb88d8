/**
 * keyflow's library API for TypeScript flows. The CLI and this API share one implementation;
 * the AWS SDK and snowflake-sdk load only when a call needs them. Guides: README "Library API",
 * docs/blocks.md, docs/snowflake.md, docs/run.md (masking).
 */

export type {AwsClientParameters, AwsCredentialsBlock, AwsSecretBlock} from './lib/aws/block-types.js'
export type {BlockStore, StoredRecord} from './lib/block/store/store.js'
export type {BlockTypeDefinition} from './lib/block/types/definition.js'
export {ExitCode, KeyflowError} from './lib/errors.js'
export {runFlow} from './lib/flow.js'
export {createInvocation, DEFAULT_SOURCES} from './lib/invocation.js'
export type {Invocation, InvocationOptions} from './lib/invocation.js'
export {
  blockEnv,
  blockEnvPrefix,
  deleteAwsSecret,
  deleteSecret,
  explainSecret,
  loadBlock,
  readAwsSecret,
  resolveBlock,
  resolveSecret,
  resolveSecrets,
  restoreSecret,
  secretHistory,
  writeAwsSecret,
  writeSecret,
} from './lib/library.js'
export type {
  BlockEnvEntry,
  BlockEnvOptions,
  BlockOf,
  BuiltinBlocks,
  DeleteOptions,
  DeleteResult,
  Explanation,
  HistoryEntry,
  LoadBlockOptions,
  ResolvedBlock,
  ResolvedSecret,
  ResolveOptions,
  SecretBlock,
  SetMetadata,
  SnowflakeConnectorBlock,
  SnowflakeCredentialsBlock,
  WriteResult,
} from './lib/library.js'
export {MASK, MaskSet, MIN_MASK_BYTES, StreamMasker} from './lib/run/masker.js'
export type {Resolution, TraceStep} from './lib/secret/chain.js'
export {parseReference} from './lib/secret/reference.js'
export type {SecretReference} from './lib/secret/reference.js'
export type {Provenance, SourcePlugin} from './lib/secret/source.js'
export {BUILTIN_SOURCES, SOURCE_KINDS} from './lib/secret/sources/index.js'
export type {BuiltinSourceKind as SourceKind} from './lib/secret/sources/index.js'
export type {SnowflakeAuthenticator, SnowflakeConnectorConfig, SnowflakeCredentialsConfig} from './lib/snowflake/config.js'
export {SnowflakeConnector, snowflakeMultiquery} from './lib/snowflake/connector.js'
export type {AnyParams, Bind, CancelRequest, DictRow, ExecuteResult, FetchOptions, NamedParams, Params, ResultStream, Row} from './lib/snowflake/connector.js'
export {runBatchInsert, runSql, SQL_FORMATS} from './lib/snowflake/sql.js'
export type {BatchInsertOptions, BatchInsertResult, RunSqlOptions, RunSqlResult, SqlFormat} from './lib/snowflake/sql.js'
