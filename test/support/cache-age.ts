import {CacheStore} from '../../src/lib/cache/store.js'

/**
 * Moves every cache entry's storedAt under `home` by `ms` (negative: into the past), as if that
 * much time had passed: cache tests age entries with keyflow's own store, never by waiting.
 */
export async function shiftCacheEntries(home: string, ms: number): Promise<void> {
  const store = CacheStore.open(home, {})
  for (const {entry} of store.list()) {
    // eslint-disable-next-line no-await-in-loop
    if (entry) await store.write({...entry, storedAt: entry.storedAt + ms})
  }
}
