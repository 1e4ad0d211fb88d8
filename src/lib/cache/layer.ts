import type {CachedEntry, CacheStore, EntryIdentity} from './store.js'

import {describeFsError, ExitCode, KeyflowError} from '../errors.js'
import {warn} from '../output/warn.js'
import {CachePolicy, failure, hit, LookupRequest, Outcome, SecretSource} from '../secret/source.js'
import {SettingsBase} from '../settings/settings.js'
import {boolean, duration, formatDuration, settingError, SettingValues} from '../settings/spec.js'

/**
 * The cache layer (docs/cache.md): plugged in at the composition root in front of every
 * source with a CachePolicy (AWS), never inside one. Opt-in through cache.ttl.
 *
 *   fresh (younger than the TTL; a pinned version id until maxStale)  served, no call
 *   stale, or none                                                      one call, under the entry's lock
 *   the call fails transiently (throttled, unreachable, 5xx)           the stale value, if within maxStale, with a warning
 *   the call answers "not found", "denied" or any other failure        passed through; the entry is dropped
 *   --offline                                                          the cache alone, up to maxStale
 *
 * An entry written "in the future" (the clock went back) is stale and never served as stale:
 * its age is unknown.
 */

const DAY = 86_400_000

const age = (entry: CachedEntry, now: number) => now - entry.storedAt

export const CACHE_SETTINGS = {
  cacheBypass: {
    configPath: ['cache', 'bypass'],
    description: 'Neither read nor write the cache for this call.',
    env: ['KEYFLOW_NO_CACHE'],
    flag: 'no-cache',
    helpGroup: 'CACHE',
    parse: boolean,
  },
  cacheMaxStaleMs: {
    configPath: ['cache', 'maxStale'],
    description: 'How old a cached value may be and still be served when AWS fails transiently or with --offline, e.g. 24h (default: the TTL).',
    env: ['KEYFLOW_CACHE_MAX_STALE'],
    flag: 'cache-max-stale',
    helpGroup: 'CACHE',
    parse: duration(1000, 366 * DAY),
  },
  cacheTtlMs: {
    configPath: ['cache', 'ttl'],
    description: 'Keep AWS values in the encrypted cache and serve them this long without asking again, e.g. 5m (unset: no cache).',
    env: ['KEYFLOW_CACHE_TTL'],
    flag: 'cache-ttl',
    helpGroup: 'CACHE',
    parse: duration(1000, 366 * DAY),
  },
  offline: {
    configPath: ['cache', 'offline'],
    description: 'Ask no remote source: serve AWS secrets from the cache only, up to cache.maxStale old.',
    env: ['KEYFLOW_OFFLINE'],
    flag: 'offline',
    helpGroup: 'CACHE',
    parse: boolean,
  },
}

export type CacheSettings = SettingsBase & SettingValues<typeof CACHE_SETTINGS>

export type CacheState = 'fresh' | 'revalidated' | 'stale' | 'stored'

/** What a hit's provenance says about the cache (--explain, --json). */
export interface CacheProvenance {
  age: string
  ageSeconds: number
  state: CacheState
}

interface Limits {
  /** Fresh for this long; pinned version ids are immutable, so fresh until `maxStale`. */
  freshMs(request: LookupRequest): number
  /** Servable when AWS fails, or offline, up to this age. */
  maxStaleMs: number
}

/** Whether the settings turn the cache on for this invocation. */
export function cacheEnabled(settings: CacheSettings): boolean {
  return !settings.cacheBypass && (settings.cacheTtlMs !== undefined || settings.offline === true)
}

function limitsOf(settings: CacheSettings): Limits {
  const ttl = settings.cacheTtlMs ?? 0
  const maxStale = settings.cacheMaxStaleMs ?? ttl
  if (maxStale < ttl) {
    throw settingError(
      `cache.maxStale (${formatDuration(maxStale)}) is shorter than cache.ttl (${formatDuration(ttl)}).`,
      settings.origins.cacheMaxStaleMs ?? 'cache.maxStale',
      'Set cache.maxStale to at least the TTL (it is the oldest a value may ever be served), or leave it unset.',
    )
  }

  return {freshMs: (request) => (request.versionId ? maxStale : ttl), maxStaleMs: maxStale}
}

function served(entry: CachedEntry, state: CacheState, now: number): Outcome {
  const ageMs = Math.max(0, now - entry.storedAt)
  const cache: CacheProvenance = {age: formatDuration(ageMs), ageSeconds: Math.floor(ageMs / 1000), state}
  return hit(entry.value, {...entry.provenance, cache})
}

function offlineMiss(identity: EntryIdentity, entry: CachedEntry | undefined, limits: Limits, now: number): Outcome {
  const why = entry
    ? now < entry.storedAt
      ? 'its cached value was written in the future (the clock went back), so its age is unknown'
      : `its cached value is ${formatDuration(now - entry.storedAt)} old, older than cache.maxStale (${formatDuration(limits.maxStaleMs)})`
    : 'it is not in the cache'
  return failure(
    new KeyflowError(`Offline, and ${why}.`, {
      code: 'CACHE_OFFLINE_MISS',
      exit: ExitCode.SOURCE_FAILURE,
      fix: 'Resolve it once online with cache.ttl set (and cache.maxStale long enough), or drop --offline / KEYFLOW_OFFLINE.',
      where: `cache, secret ${JSON.stringify(identity.secretId)}`,
    }),
  )
}

/** A source's CachePolicy applied to this invocation's settings. */
export interface BoundPolicy {
  identity(request: LookupRequest): EntryIdentity
  lockWaitMs: number
  transient: CachePolicy<never>['transient']
}

/**
 * Runs `write`, which changes these entries' secrets, holding the entries' locks, and drops the
 * secrets' entries after it whatever it answered (a conflict, too, says the cached value is not
 * the current one): a reader that missed meanwhile waits for the lock and then asks the source,
 * and one that was already fetching stored its value before the drop. Every entry of those
 * secret ids goes, whatever its scope: the same secret read with other credentials (another
 * profile or key) is cached apart, and dropping one too many only costs a call. No cache: just
 * the write.
 */
async function changeThrough<T>(cache: CacheStore | undefined, identities: EntryIdentity[], policy: BoundPolicy, write: () => Promise<T>): Promise<T> {
  if (!cache) return write()
  const secretIds = new Set(identities.map((identity) => identity.secretId))
  return cache.locked(identities, policy.lockWaitMs, async () => {
    try {
      return await write()
    } finally {
      cache.removeWhere((entry) => secretIds.has(entry.identity.secretId))
    }
  })
}

/**
 * `inner` as it is, except that its writers drop the entries they change (changeThrough) when
 * there is a cache directory: the cache is off for this call (no cache.ttl, --no-cache), but
 * another call may have it on.
 */
export function droppingOnChange(inner: SecretSource, policy: BoundPolicy, openExisting: () => Promise<CacheStore | undefined>): SecretSource {
  return {
    ...inner,
    async changing(requests, write) {
      return changeThrough(await openExisting(), requests.map((request) => policy.identity(request)), policy, write)
    },
    lookup: (requests) => inner.lookup(requests),
  }
}

/**
 * Puts the cache in front of `inner`. `openStore` runs on the first lookup, so that an
 * invocation that never reaches the source never touches the cache directory or the key.
 */
export function cachedSource(inner: SecretSource, policy: BoundPolicy, settings: CacheSettings, openStore: () => Promise<CacheStore>): SecretSource {
  const limits = limitsOf(settings)
  let store: Promise<CacheStore> | undefined
  const isFresh = (entry: CachedEntry | undefined, request: LookupRequest, now: number): entry is CachedEntry =>
    entry !== undefined && age(entry, now) >= 0 && age(entry, now) < limits.freshMs(request)
  const isServable = (entry: CachedEntry | undefined, now: number): entry is CachedEntry =>
    entry !== undefined && age(entry, now) >= 0 && age(entry, now) <= limits.maxStaleMs

  const settle = async (cache: CacheStore, identity: EntryIdentity, earlier: CachedEntry | undefined, answer: Outcome): Promise<Outcome> => {
    const now = Date.now()
    if (answer.kind === 'hit') {
      const entry = {identity, provenance: answer.provenance, storedAt: now, value: answer.value}
      try {
        await cache.write(entry)
      } catch (error) {
        // The value is good; only keeping it failed (a full disk, a read-only home).
        const reason = error instanceof KeyflowError ? error.message : describeFsError(error)
        warn(`Could not write the cache entry for ${JSON.stringify(identity.secretId)} (${reason}); the value came from AWS and is not cached.`)
      }

      return served(entry, earlier ? 'revalidated' : 'stored', now)
    }

    if (answer.kind === 'failure' && policy.transient(answer.error) && isServable(earlier, now)) {
      warn(
        `${answer.error.message} Serving ${JSON.stringify(identity.secretId)} from the cache, ${formatDuration(age(earlier, now))} old (cache.maxStale ${formatDuration(limits.maxStaleMs)}).`,
      )
      return served(earlier, 'stale', now)
    }

    // "Not found", "denied" and the like are answers about the secret: no cached value may outlive them.
    if (earlier && !(answer.kind === 'failure' && policy.transient(answer.error))) cache.remove(identity)
    return answer
  }

  return {
    async changing(requests, write) {
      store ??= openStore()
      return changeThrough(await store, requests.map((request) => policy.identity(request)), policy, write)
    },
    kind: inner.kind,
    async lookup(requests) {
      store ??= openStore()
      const cache = await store
      const identities = requests.map((request) => policy.identity(request))
      const entries = identities.map((identity) => cache.read(identity))
      const outcomes: Outcome[] = Array.from({length: requests.length})
      const now = Date.now()
      const todo: number[] = []
      for (const [index, entry] of entries.entries()) {
        if (settings.offline) outcomes[index] = isServable(entry, now) ? served(entry, isFresh(entry, requests[index], now) ? 'fresh' : 'stale', now) : offlineMiss(identities[index], entry, limits, now)
        else if (isFresh(entry, requests[index], now)) outcomes[index] = served(entry, 'fresh', now)
        else todo.push(index)
      }

      if (todo.length === 0) return outcomes
      await cache.locked(todo.map((index) => identities[index]), policy.lockWaitMs, async () => {
        // Whoever held the lock may have just fetched them.
        const still: number[] = []
        for (const index of todo) {
          const entry = cache.read(identities[index])
          if (isFresh(entry, requests[index], Date.now())) outcomes[index] = served(entry, 'fresh', Date.now())
          else {
            entries[index] = entry ?? entries[index]
            still.push(index)
          }
        }

        if (still.length === 0) return
        const answers = await inner.lookup(still.map((index) => requests[index]))
        await Promise.all(still.map(async (index, i) => {
          outcomes[index] = await settle(cache, identities[index], entries[index], answers[i])
        }))
      })
      return outcomes
    },
  }
}
