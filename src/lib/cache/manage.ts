import {join} from 'node:path'

import {Invocation} from '../invocation.js'
import {table} from '../output/table.js'
import {formatDuration} from '../settings/spec.js'
import {CachedEntry, CacheStore} from './store.js'

/**
 * `keyflow cache ls` and `keyflow cache clear`, and `invalidate` for commands that change a
 * secret (secret set / rm): what is cached, by name, age and expiry, never by value.
 */

export interface ListedEntry {
  ageSeconds: number
  /** Size of the encrypted file, which an attacker with the disk sees too (docs/cache.md). */
  bytes: number
  endpoint?: string
  /** When it stops being fresh under the current cache.ttl (unset: no TTL in effect). */
  freshUntil?: string
  region?: string
  secretId: string
  /** When it can no longer be served, even when AWS fails or offline. */
  servableUntil?: string
  source: string
  state: 'expired' | 'fresh' | 'future' | 'stale'
  storedAt: string
  versionId?: string
  versionStage?: string
}

export interface CacheListing {
  directory: string
  entries: ListedEntry[]
  /** Entry files the master key in use does not open (another key's, corrupt): misses, removed by `cache clear`. */
  unreadable: number
}

const openExisting = (invocation: Invocation): CacheStore | undefined => CacheStore.openExisting(invocation.home, invocation.env)

export function listCache(invocation: Invocation): CacheListing {
  const directory = join(invocation.home, 'cache')
  const store = openExisting(invocation)
  const files = store?.list() ?? []
  const {cacheMaxStaleMs, cacheTtlMs} = invocation.settings
  const maxStale = cacheMaxStaleMs ?? cacheTtlMs
  const now = Date.now()
  const entries = files.flatMap(({bytes, entry}): ListedEntry[] => {
    if (!entry) return []
    const {identity, storedAt} = entry
    const age = now - storedAt
    const freshFor = identity.versionId ? maxStale : cacheTtlMs
    const state = age < 0 ? 'future' : freshFor !== undefined && age < freshFor ? 'fresh' : maxStale !== undefined && age <= maxStale ? 'stale' : 'expired'
    const at = (ms: number | undefined) => (ms === undefined ? undefined : new Date(storedAt + ms).toISOString())
    const [source, endpoint, region] = identity.scope
    return [{
      ageSeconds: Math.floor(age / 1000),
      bytes,
      endpoint: endpoint || undefined,
      freshUntil: at(freshFor),
      region: region || undefined,
      secretId: identity.secretId,
      servableUntil: at(maxStale),
      source,
      state,
      storedAt: new Date(storedAt).toISOString(),
      versionId: identity.versionId,
      versionStage: identity.versionStage,
    }]
  })
  entries.sort((a, b) => a.secretId.localeCompare(b.secretId) || a.storedAt.localeCompare(b.storedAt))
  return {directory, entries, unreadable: files.filter(({entry}) => !entry).length}
}

export function renderListing({directory, entries, unreadable}: CacheListing): string {
  const rows = entries.map((entry) => [
    entry.secretId,
    entry.versionId ?? entry.versionStage ?? '',
    entry.region ?? '',
    entry.ageSeconds < 0 ? 'in the future' : formatDuration(entry.ageSeconds * 1000),
    entry.state,
    entry.freshUntil ?? '-',
  ])
  const listed = entries.length > 0 ? table(['NAME', 'VERSION', 'REGION', 'AGE', 'STATE', 'FRESH UNTIL'], rows) : `No cached secrets in ${directory}.\n`
  const note = unreadable > 0 ? `${unreadable} entr${unreadable === 1 ? 'y does' : 'ies do'} not open with the master key in use (ignored; keyflow cache clear removes them).\n` : ''
  return listed + note
}

/** Whether an entry is the secret a user or a command names: its id as asked, with the prefix, or its AWS name or ARN. */
function named(invocation: Invocation, names: string[]): (entry: CachedEntry) => boolean {
  const prefix = invocation.settings.awsPrefix
  return (entry) => {
    const {arn, name} = entry.provenance as {arn?: string; name?: string}
    return names.some((wanted) => [prefix + wanted, wanted].includes(entry.identity.secretId) || wanted === name || wanted === arn)
  }
}

/**
 * Drops every cached version of these secrets (ids, names or ARNs), so the next read asks the
 * source. For commands that change a secret (secret set / rm). Returns how many entries went.
 */
export function invalidate(invocation: Invocation, secretIds: string[]): number {
  return openExisting(invocation)?.removeWhere(named(invocation, secretIds)).length ?? 0
}

export interface ClearResult {
  removed: number
}

/** Removes the entries of these names, or with none every entry (those no key opens included). */
export function clearCache(invocation: Invocation, names: string[]): ClearResult {
  const store = openExisting(invocation)
  if (!store) return {removed: 0}
  return {removed: names.length === 0 ? store.clear() : store.removeWhere(named(invocation, names)).length}
}
