export {ExitCode, KeyflowError} from './lib/errors.js'
/**
 * keyflow's library API for TypeScript flows. The CLI and this API share one implementation.
 */
export {explainSecret, resolveSecret, resolveSecrets} from './lib/secret/api.js'
export type {ResolvedSecret, ResolveOptions} from './lib/secret/api.js'
export type {Resolution, TraceStep} from './lib/secret/chain.js'
export {parseReference} from './lib/secret/reference.js'
export type {SecretReference} from './lib/secret/reference.js'
export type {Provenance} from './lib/secret/source.js'
export {SOURCE_KINDS} from './lib/settings/settings.js'
export type {SourceKind} from './lib/settings/settings.js'
