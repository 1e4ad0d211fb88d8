/**
 * keyflow's library API for TypeScript flows. The CLI and this API share one implementation;
 * the AWS SDK and snowflake-sdk load only when a call needs them. Guides: README "Library API",
 * docs/blocks.md, docs/snowflake.md, docs/run.md (masking).
 */

export {blockEnv, blockEnvPrefix, loadBlock, resolveBlock} from './lib/block/api.js'
export type {
  AwsClientParameters,
  AwsCredentialsBlock,
  AwsSecretBlock,
  BlockEnvEntry,
  BlockEnvOptions,
  BlockOf,
  BuiltinBlocks,
  LoadBlockOptions,
  ResolvedBlock,
  SecretBlock,
  SnowflakeConnectorBlock,
  SnowflakeCredentialsBlock,
} from './lib/block/api.js'
export {readAwsSecret} from './lib/block/aws-secret.js'
export type {BlockTypeDefinition} from './lib/block/definition.js'
export type {BlockStore, StoredRecord} from './lib/block/store/store.js'
export {ExitCode, KeyflowError} from './lib/errors.js'
export {MASK, MaskSet, MIN_MASK_BYTES, StreamMasker} from './lib/run/masker.js'
export {explainSecret, resolveSecret, resolveSecrets} from './lib/secret/api.js'
export type {Explanation, ResolvedSecret, ResolveOptions} from './lib/secret/api.js'

export type {Resolution, TraceStep} from './lib/secret/chain.js'
export {parseReference} from './lib/secret/reference.js'
export type {SecretReference} from './lib/secret/reference.js'
export type {Provenance} from './lib/secret/source.js'
export {SOURCE_KINDS} from './lib/settings/settings.js'

export type {SourceKind} from './lib/settings/settings.js'
export type {SnowflakeAuthenticator, SnowflakeConnectorConfig, SnowflakeCredentialsConfig} from './lib/snowflake/config.js'
export {SnowflakeConnector} from './lib/snowflake/connector.js'
export type {Bind, ExecuteResult, Params, ResultStream, Row} from './lib/snowflake/connector.js'
export {runBatchInsert, runSql, SQL_FORMATS} from './lib/snowflake/sql.js'

export type {BatchInsertOptions, BatchInsertResult, RunSqlOptions, RunSqlResult, SqlFormat} from './lib/snowflake/sql.js'
