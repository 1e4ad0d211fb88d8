import type {AwsConnection, SecretsManagerApi} from '../aws/secrets-manager.js'
import type {EntryIdentity} from '../cache/store.js'
import type {SettingsBase} from '../settings/settings.js'
import type {SettingSpecs, SettingValues} from '../settings/spec.js'
import type {Chain} from './chain.js'

import {KeyflowError} from '../errors.js'

/**
 * A source answers lookups with, for each request, a hit (value plus provenance), a typed
 * miss (with the reason and how to set the secret there), or a failure (a KeyflowError).
 * Lookups come in batches so a remote source can fetch many names in few calls; a local
 * source just answers each. A source that throws fails every request of the batch.
 *
 * A source plugs in as one `SourcePlugin` (one file under sources/) plus one line in
 * sources/index.ts: the plug-in declares its kind, the reference schemes that address it, the
 * settings it reads, how its provenance reads, and how it opens for an invocation.
 */

export interface LookupRequest {
  /** True when the reference addressed this source directly (aws-sm://..., env://...). */
  direct: boolean
  /** The name through the chain, or the exact id when addressed directly. */
  name: string
  /** The key path after `#`, for a source that picks it itself (`SourcePlugin.picksPath`); the chain picks it for the others. */
  path?: readonly string[]
  /** Where a source that has regions looks, instead of its configured one (Metaflow's options.region). */
  region?: string
  /** A role to assume for this request, instead of the configured one (Metaflow's per-source role). */
  role?: string
  versionId?: string
  versionStage?: string
  /** What was being resolved when this was asked for, outermost first (SecretReference.via): a source that resolves references of its own refuses a cycle with it. */
  via?: readonly string[]
}

/** Where a value came from: the source's kind plus what that source says about it (never the value). */
export interface Provenance {
  readonly [detail: string]: unknown
  readonly source: string
}

export interface Hit {
  kind: 'hit'
  provenance: Provenance
  value: string | Uint8Array
}

export interface Miss {
  /** How to set the secret in this source. */
  hint?: string
  kind: 'miss'
  reason: string
}

export interface Failure {
  error: KeyflowError
  kind: 'failure'
}

export type Outcome = Failure | Hit | Miss

export interface SecretSource {
  /**
   * Runs `write`, a change of these names at the source, so that what a layer in front keeps of
   * them (the cache) is dropped after it and not refilled with the old value meanwhile.
   */
  changing?<T>(requests: LookupRequest[], write: () => Promise<T>): Promise<T>
  readonly kind: string
  /** The names this source holds, never a value (`keyflow secret ls`); a source that cannot list leaves it out. */
  list?(): Promise<SourceListing>
  lookup(requests: LookupRequest[]): Promise<Outcome[]>
}

export interface ListedName {
  /** When the value last changed, if the source knows. */
  lastChanged?: string
  /** The name as the chain looks it up. */
  name: string
  /** Version stages (AWS). */
  stages?: string[]
  /** A variable, a file:line, an ARN. */
  where: string
}

export interface SourceListing {
  /** Remote calls the listing took. */
  calls?: number
  detail?: string
  names: ListedName[]
  /** Why nothing was listed (e.g. AWS not configured at all), as a miss says why. */
  skipped?: string
}

/** Opens a Secrets Manager client; the invocation may inject one (tests, a block's own credentials). */
export type ConnectSecretsManager = (connection: AwsConnection) => Promise<SecretsManagerApi>

/**
 * What the layers above the secret layer hand to the sources they define, through the
 * composition root (src/lib/invocation.ts). Empty here: this layer knows nothing of them. A
 * layer above adds its member by declaration merging (types only, no import runs upward):
 * block/source.ts adds `blocks`, the invocation's block context.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging from above
export interface SourceServices {}

/** What a source gets when it opens: its settings, already resolved, and the shared connections. */
export interface SourceContext<S extends SettingSpecs> extends SourceServices {
  /** The invocation's chain, for a source whose values hold references of their own (block://), resolved with the same settings and cache. */
  chain?: () => Chain
  connectSecretsManager?: ConnectSecretsManager
  settings: SettingsBase & SettingValues<S>
}

/**
 * How a remote source's answers may be cached (src/lib/cache): the cache layer sits in front
 * of every source that declares this, at the composition root.
 */
export interface CachePolicy<S extends SettingSpecs> {
  /** Everything that decides the answer to `request`: endpoint, region, credentials, id, version. */
  identity(request: LookupRequest, settings: SettingsBase & SettingValues<S>): EntryIdentity
  /** How long to wait for another process fetching the same entry before fetching it too. */
  lockWaitMs(settings: SettingsBase & SettingValues<S>): number
  /** A failure that says nothing about the secret (throttled, unreachable, a server fault): a stale value may stand in. */
  transient(error: KeyflowError): boolean
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of plug-ins holds each with its own provenance and settings
export interface SourcePlugin<P extends Provenance = any, S extends SettingSpecs = any> {
  /** Present on remote sources whose answers may be kept in the encrypted cache. */
  readonly cache?: CachePolicy<S>
  /** A bare reference (no scheme) that addresses this source alone, e.g. an ARN. */
  claims?(text: string): boolean
  /** The variable name a direct reference is injected as when no alias is given. */
  defaultKey?(name: string): string
  /** How a hit reads in --explain and traces: `$NAME`, `FILE:LINE`, an ARN. Never the value. */
  describe(provenance: P): string
  readonly kind: string
  open(context: SourceContext<S>): SecretSource
  /** The source picks the reference's `#PATH` itself (it gets `LookupRequest.path`), instead of the chain picking it out of a JSON value. */
  readonly picksPath?: boolean
  /** Whether a declaration may give a request its own region and role (LookupRequest). */
  readonly regionsAndRoles?: boolean
  /** Addressed by its scheme alone: a bare name never walks to it, and the `sources` setting does not list it. */
  readonly schemeOnly?: boolean
  /** Reference schemes that address this source alone: `env` for env://NAME. */
  readonly schemes: readonly string[]
  /** The settings it reads; their flags, env vars and config keys come with them. */
  readonly settings: S
  /** Whether references may pin a version (?stage=, ?version-id=). */
  readonly versioned?: boolean
}

/** Declares a plug-in with its types checked against its own settings and provenance. */
export const defineSource = <P extends Provenance, S extends SettingSpecs>(plugin: SourcePlugin<P, S>): SourcePlugin<P, S> => plugin

export const hit = (value: string | Uint8Array, provenance: Provenance): Hit => ({kind: 'hit', provenance, value})
export const miss = (reason: string, hint?: string): Miss => ({hint, kind: 'miss', reason})
export const failure = (error: KeyflowError): Failure => ({error, kind: 'failure'})
