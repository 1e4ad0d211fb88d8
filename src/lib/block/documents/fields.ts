import {isPlainObject} from '../../util/json.js'
import {Keyring, MasterKey, seal, unseal} from '../keys/crypto.js'

/**
 * The data of a block document and the markers it may hold in place of values:
 *
 *   {"$secret": {...}}   a literal secret field value, encrypted (crypto.ts); only in the store
 *   {"$ref": "REF"}      a secret field that holds a reference, resolved when the block loads
 *   {"$block": "T/N"}    a nested block field that points at another saved document
 *
 * Everything else is a plain JSON value, readable in the store file.
 */

export type BlockData = Record<string, unknown>

export const MASK = '********'

export const isSecretMarker = (value: unknown): value is {$secret: unknown} => isPlainObject(value) && '$secret' in value
export const isRefMarker = (value: unknown): value is {$ref: string} => isPlainObject(value) && typeof value.$ref === 'string' && Object.keys(value).length === 1
export const isBlockMarker = (value: unknown): value is {$block: string} =>
  isPlainObject(value) && typeof value.$block === 'string' && Object.keys(value).length === 1

const isMarker = (value: unknown) => isSecretMarker(value) || isRefMarker(value) || isBlockMarker(value)

export const cloneData = <T>(data: T): T => structuredClone(data)

/**
 * Calls `visit` for every place a dotted path (with `*` for every key) reaches in `data`,
 * with the holder object, the key and the concrete path. Markers are leaves: a path never
 * descends into a `$block` reference.
 */
export function visitPath(
  data: BlockData,
  path: string,
  visit: (holder: Record<string, unknown>, key: string, concrete: string) => void,
): void {
  const walk = (holder: Record<string, unknown>, segments: string[], done: string[]) => {
    const [segment, ...rest] = segments
    const keys = segment === '*' ? Object.keys(holder) : [segment]
    for (const key of keys) {
      // Own keys only: a path such as a.__proto__.x must not walk into Object.prototype.
      if (!Object.hasOwn(holder, key)) continue
      if (rest.length === 0) visit(holder, key, [...done, key].join('.'))
      else if (isPlainObject(holder[key]) && !isMarker(holder[key])) walk(holder[key] as Record<string, unknown>, rest, [...done, key])
    }
  }

  walk(data, path.split('.'), [])
}

export const aadFor = (address: string, path: string) => `keyflow/block/v1:${address}:${path}`

/** Encrypts every literal secret value; references and absent values stay as they are. */
export function sealSecrets(data: BlockData, paths: string[], address: string, keyring: Keyring): BlockData {
  const sealed = cloneData(data)
  for (const path of paths) {
    visitPath(sealed, path, (holder, key, concrete) => {
      const value = holder[key]
      if (value === undefined || value === null || isRefMarker(value)) return
      holder[key] = {$secret: seal(value, aadFor(address, concrete), keyring.encryptionKey())}
    })
  }

  return sealed
}

/** Decrypts every `$secret`; `where` names the file in errors. */
export function unsealSecrets(data: BlockData, address: string, keyring: Keyring, where: string): BlockData {
  const walk = (value: unknown, path: string[]): unknown => {
    if (isSecretMarker(value)) return unseal(value.$secret, aadFor(address, path.join('.')), keyring, where)
    if (!isPlainObject(value) || isMarker(value)) return value
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]))
  }

  return walk(data, []) as BlockData
}

/** Secret values replaced by `********`, as Prefect's API shows them; references stay visible. */
export function maskSecrets(data: BlockData, paths: string[]): BlockData {
  const masked = cloneData(data)
  for (const path of paths) {
    visitPath(masked, path, (holder, key) => {
      if (holder[key] !== undefined && holder[key] !== null && !isRefMarker(holder[key])) holder[key] = MASK
    })
  }

  return masked
}

/** Paths of every `$secret` marker, to tell whether a document needs the master key at all. */
export function hasSealedValues(data: unknown): boolean {
  if (isSecretMarker(data)) return true
  return isPlainObject(data) && Object.values(data).some((value) => hasSealedValues(value))
}

/** The ids of the master keys a document's secret values were encrypted with. */
export function sealedKeyIds(data: unknown): string[] {
  if (isSecretMarker(data)) return [String((data.$secret as {kid?: unknown}).kid)]
  if (!isPlainObject(data)) return []
  return [...new Set(Object.values(data).flatMap((value) => sealedKeyIds(value)))]
}

/** Every `$block` reference in a document, inline nested documents included. */
export function blockReferences(data: unknown): string[] {
  if (isBlockMarker(data)) return [data.$block]
  if (!isPlainObject(data) || isMarker(data)) return []
  return Object.values(data).flatMap((value) => blockReferences(value))
}

/** Every `$secret` decrypted and encrypted again with `key`, for key rotation; the rest untouched. */
export function resealSecrets(
  {address, record: {data}, where}: {address: string; record: {data: BlockData}; where: string},
  keyring: Keyring,
  key: MasterKey,
): {changed: number; data: BlockData} {
  let changed = 0
  const walk = (value: unknown, path: string[]): unknown => {
    if (isSecretMarker(value)) {
      const sealed = value.$secret as {kid?: unknown}
      if (sealed.kid === key.id) return value
      const aad = aadFor(address, path.join('.'))
      changed++
      return {$secret: seal(unseal(value.$secret, aad, keyring, where), aad, key)}
    }

    if (!isPlainObject(value) || isMarker(value)) return value
    return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, walk(item, [...path, field])]))
  }

  const resealed = walk(data, []) as BlockData
  return {changed, data: resealed}
}

/**
 * Prefect's PATCH guard: a secret field sent back as `********` (e.g. an inspected document
 * saved again) keeps the stored value. Without a stored value, the mask is an error.
 */
export function keepMaskedSecrets(data: BlockData, previous: BlockData | undefined, paths: string[]): string[] {
  const unknown: string[] = []
  for (const path of paths) {
    visitPath(data, path, (holder, key, concrete) => {
      if (holder[key] !== MASK) return
      let kept: unknown
      if (previous) {
        visitPath(previous, concrete, (previousHolder, previousKey) => {
          kept = previousHolder[previousKey]
        })
      }

      if (kept === undefined) unknown.push(concrete)
      else holder[key] = kept
    })
  }

  return unknown
}

const mergeable = (item: unknown) => isPlainObject(item) && !isBlockMarker(item) && !isRefMarker(item)

/** Merges a partial document: objects merge key by key, anything else (markers too) replaces. */
export function merge(base: BlockData, patch: BlockData): BlockData {
  const result: BlockData = {...base}
  for (const [key, value] of Object.entries(patch)) {
    const current = result[key]
    result[key] = mergeable(value) && mergeable(current) ? merge(current as BlockData, value as BlockData) : value
  }

  return result
}
