import type {BlockContext} from './block/context.js'
import type {Prompter} from './block/documents/operations.js'
import type {BlockStore, StoreKind} from './block/store/store.js'

import {blockPlugin} from './block/source.js'
import {BLOCK_STORE_SETTINGS} from './block/store/settings.js'
import {CACHE_SETTINGS, cachedSource, cacheEnabled, droppingOnChange} from './cache/layer.js'
import {Chain, openChain} from './secret/chain.js'
import {ConnectSecretsManager, LookupRequest, SecretSource, SourcePlugin} from './secret/source.js'
import {awsPlugin} from './secret/sources/aws.js'
import {BUILTIN_SOURCES, chainSettings} from './secret/sources/index.js'
import {WRITE_SETTINGS} from './secret/write/settings.js'
import {settingsFlags as flagsToSettings, keyflowHome, ResolvedSettingsOf, resolveSettings as resolveWith, SettingsInput} from './settings/settings.js'

/**
 * The composition root: one Invocation per CLI run or library call, built by the base command,
 * the fast path and the library entry points, and handed to every lib function. It holds the
 * settings, resolved once with their origins; the chain of sources opened from them; the block
 * context (store, type registry, master key), opened on first use; and the output policy.
 * Nothing below it resolves settings or opens a store again.
 *
 * What plugs in here: a source (sources/index.ts, or `sources` below for a one-off), a block
 * store (`store`), a Secrets Manager client (`connectSecretsManager`), a prompter.
 */

/** The settings of a chain of these plug-ins: the source list, each source's own, the cache's. */
const settingsOf = <P extends readonly SourcePlugin[]>(plugins: P) => ({...chainSettings(plugins), ...CACHE_SETTINGS})

/**
 * The sources of an invocation: the secret layer's built-in ones, then block:// (block/source.ts),
 * which is defined above the secret layer (it reads the block store) and so is added here.
 */
export const DEFAULT_SOURCES = [...BUILTIN_SOURCES, blockPlugin] as const

/** Every setting of the default chain, described once (each source declares its own). */
export const CHAIN_SETTINGS = settingsOf(DEFAULT_SOURCES)

/** Every setting: the chain's, then the block store's. */
export const SETTINGS = {...CHAIN_SETTINGS, ...BLOCK_STORE_SETTINGS}



/** The chain's settings and where `secret set` writes. */
const ALL_SETTINGS = {...SETTINGS, ...WRITE_SETTINGS}

export type Settings = ResolvedSettingsOf<typeof ALL_SETTINGS>
export type ResolvedSettings = Settings
export type SettingKey = keyof typeof ALL_SETTINGS

export interface OutputPolicy {
  /** --json, or KEYFLOW_CONTENT_TYPE=json: one JSON document on stdout, errors as JSON on stderr. */
  json: boolean
}

export interface InvocationOptions extends SettingsInput {
  /** Opens Secrets Manager clients; default: the AWS SDK (tests inject a fake or moto's). */
  connectSecretsManager?: ConnectSecretsManager
  output?: Partial<OutputPolicy>
  /** How block commands ask for missing fields and confirmations; default: never ask. */
  prompter?: Prompter
  /** The source plug-ins, in default order; default: DEFAULT_SOURCES. */
  sources?: readonly SourcePlugin[]
  /** Another block store, or which one; default: the `blocks.store` setting (local unless set). */
  store?: BlockStore | StoreKind
}

export interface Invocation {
  /**
   * The block store, registry and key, opened on first use (a `secret get` never loads them):
   * the store `kind` names, by default the one the `blocks.store` setting names.
   */
  blocks(kind?: StoreKind): Promise<BlockContext>
  /** The chain of sources, opened from the settings on first use. */
  readonly chain: Chain
  /** Opens Secrets Manager clients for the AWS source and aws-secret blocks; undefined: the AWS SDK. */
  readonly connectSecretsManager?: ConnectSecretsManager
  readonly env: NodeJS.ProcessEnv
  /**
   * Drops the cached copies of secrets just written or deleted (ids, names or ARNs), so no read
   * answers with what they held before. The write has happened: a cache that cannot be opened is
   * a warning, not a failure. Here, at the root, so the write path needs nothing of the cache.
   */
  forgetCached(secretIds: string[]): Promise<void>
  readonly home: string
  readonly output: OutputPolicy
  readonly plugins: readonly SourcePlugin[]
  /** Resolved on first use, so a command that never reads a setting never reads keyflow.json; a plug-in's own settings are there too. */
  readonly settings: Readonly<Record<string, unknown>> & Settings
}

/** Settings as command-line flags give them (keyed by flag name), keyed by setting. */
export const settingsFlags = (flags: Record<string, unknown>): SettingsInput['flags'] => flagsToSettings(ALL_SETTINGS, flags)

/** Resolves the built-in settings table; an Invocation does this once. */
export const resolveSettings = (input: SettingsInput = {}): Settings => resolveWith(ALL_SETTINGS, input)

const cacheStore = async () => (await import('./cache/store.js')).CacheStore

/**
 * `source`, opened by `plugin` with `settings`, behind the cache when the plug-in has a cache
 * policy and the settings enable it. The cache sits here, in front of remote sources, and nowhere
 * else (docs/cache.md): the chain's sources, aws-secret blocks' reads (with the block's own
 * connection in `settings`, so its entries are the block's) and the aws block store's reads all
 * come through. With the cache off for this call, a source's writers still drop what another call cached.
 */
export function inFrontOfCache(invocation: Pick<Invocation, 'env' | 'home'>, policy: SourcePlugin['cache'], settings: Settings, source: SecretSource): SecretSource {
  if (!policy) return source
  const bound = {identity: (request: LookupRequest) => policy.identity(request, settings), lockWaitMs: policy.lockWaitMs(settings), transient: policy.transient}
  // Off for this call, its writes still drop what another call cached.
  if (!cacheEnabled(settings)) return droppingOnChange(source, bound, async () => (await cacheStore()).openExisting(invocation.home, invocation.env))
  return cachedSource(source, bound, settings, async () => (await cacheStore()).open(invocation.home, invocation.env))
}

export function createInvocation(options: InvocationOptions = {}): Invocation {
  const env = options.env ?? process.env
  const plugins = options.sources ?? DEFAULT_SOURCES
  const specs = plugins === DEFAULT_SOURCES ? ALL_SETTINGS : {...settingsOf(plugins), ...WRITE_SETTINGS}
  let settings: Invocation['settings'] | undefined
  let chain: Chain | undefined
  const blocks = new Map<string, Promise<BlockContext>>()
  const invocation: Invocation = {
    blocks(kind) {
      const given = typeof options.store === 'object' ? options.store : undefined
      const wanted = kind ?? given?.kind ?? (typeof options.store === 'string' ? options.store : invocation.settings.blockStore)
      let opened = blocks.get(wanted)
      if (!opened) {
        opened = (async () => {
          // The built-in block types, registered from their domains; loaded only by block work.
          const [{openBlocks, storeFor}, {BUILTIN_BLOCK_TYPES}] = await Promise.all([import('./block/context.js'), import('./block-types.js')])
          // The aws store's documents are Secrets Manager secrets: read through the cache as the AWS source's are.
          const readsThroughCache = (reader: SecretSource) => inFrontOfCache(invocation, awsPlugin.cache, invocation.settings, reader)
          const store = given?.kind === wanted ? given : storeFor(wanted, invocation.settings, {cache: readsThroughCache, connectSecretsManager: options.connectSecretsManager})
          return openBlocks({builtins: BUILTIN_BLOCK_TYPES, env, home: invocation.home, plugins, prompter: options.prompter, store})
        })()
        blocks.set(wanted, opened)
      }

      return opened
    },
    get chain() {
      const resolved = invocation.settings
      chain ??= openChain(plugins, resolved.sources, (plugin) =>
        inFrontOfCache(
          invocation,
          plugin.cache,
          resolved,
          // The block context and the chain itself, for sources whose values hold references (block://).
          plugin.open({blocks: () => invocation.blocks(), chain: () => invocation.chain, connectSecretsManager: options.connectSecretsManager, settings: resolved}),
        ),
      )
      return chain
    },
    connectSecretsManager: options.connectSecretsManager,
    env,
    async forgetCached(secretIds) {
      const [{invalidate}, {toKeyflowError}, {warn}] = await Promise.all([import('./cache/manage.js'), import('./output/render-error.js'), import('./output/warn.js')])
      try {
        invalidate(invocation, secretIds.filter(Boolean))
      } catch (error) {
        warn(`the cached copies of ${secretIds[0]} could not be dropped: ${toKeyflowError(error).message}`)
      }
    },
    home: keyflowHome(env),
    output: {json: options.output?.json ?? env.KEYFLOW_CONTENT_TYPE?.toLowerCase() === 'json'},
    plugins,
    get settings() {
      settings ??= resolveWith(specs, {cwd: options.cwd, env, flags: options.flags}) as Invocation['settings']
      return settings
    },
  }
  return invocation
}

export {WRITE_SETTINGS} from './secret/write/settings.js'