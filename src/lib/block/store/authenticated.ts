import {createHmac, hkdfSync, timingSafeEqual} from 'node:crypto'

import {ExitCode, KeyflowError} from '../../errors.js'
import {isPlainObject} from '../../util/json.js'
import {sealedKeyIds} from '../documents/fields.js'
import {Keyring, MasterKey, missingKey} from '../keys/crypto.js'
import {pythonJson} from '../types/canonical.js'
import {BlockStore, StoredRecord} from './store.js'

/**
 * Whole-record integrity: every record (block documents and registered block types) carries
 * a MAC over its key and its entire content, under a key derived from the master key with
 * HKDF, so that a planted or edited record is an integrity error, its plain fields included:
 * the `access_url` of a connector, which credentials it nests, which fields a type keeps
 * secret. Encrypting the secret fields alone (crypto.ts) would not bind those.
 *
 *   "mac": {"alg": "HMAC-SHA256", "kid": "<master key id>", "tag": "<base64>"}
 *
 * Not covered: the store's revision counter, so a record replaced by an older copy of itself
 * verifies; only someone who can write the store (the user: README "Security model", limits)
 * can do that. Records written before keyflow authenticated them have no MAC: reading one
 * is an integrity error until `keyflow block rekey --adopt-unauthenticated` vouches for it.
 *
 * Writes re-check, under the store's lock, that every key the record was sealed and MACed
 * with still exists: a writer that sealed with the old key while `rekey` ran would otherwise
 * land a record that nothing can open once the old key is gone (exit 7, retry).
 */

const ALGORITHM = 'HMAC-SHA256'
const MAC_FIELD = 'mac'

// Derived once per master key (by id, a hash of the key): `ls` verifies every record.
const macKeys = new Map<string, Buffer>()
function macKey(key: MasterKey): Buffer {
  let derived = macKeys.get(key.id)
  if (!derived) macKeys.set(key.id, (derived = Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), 'keyflow/store-record-mac/v1', 32))))
  return derived
}

function tagOf(storeKey: string, value: Record<string, unknown>, key: MasterKey): Buffer {
  return createHmac('sha256', macKey(key)).update(`keyflow/record/v1\0${storeKey}\0`).update(pythonJson(value)).digest()
}

function integrity(message: string, code: string, fix: string, where: string): KeyflowError {
  return new KeyflowError(message, {code, exit: ExitCode.INTEGRITY, fix, where})
}

export function unauthenticated(where: string): KeyflowError {
  return integrity(
    'The block store record is not authenticated: it was written by a keyflow from before records carried a MAC, or planted by someone else.',
    'STORE_UNAUTHENTICATED',
    'If you wrote it with an earlier keyflow, check it (its file is plain JSON) and run `keyflow block rekey --adopt-unauthenticated`; otherwise delete it.',
    where,
  )
}

export interface ReadOptions {
  /** Return a record without a MAC (keyId undefined) instead of refusing it: for `rekey --adopt-unauthenticated` only. */
  allowUnauthenticated?: boolean
}

export class AuthenticatedStore implements BlockStore {
  private readonly inner: BlockStore
  private readonly keyring: Keyring

  constructor(inner: BlockStore, keyring: Keyring) {
    this.inner = inner
    this.keyring = keyring
  }

  get location(): string {
    return this.inner.location
  }

  delete(key: string, expectedRevision?: number): Promise<void> {
    return this.inner.delete(key, expectedRevision)
  }

  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.inner.exclusive(task)
  }

  async get(key: string, options: ReadOptions = {}): Promise<StoredRecord | undefined> {
    const stored = await this.inner.get(key)
    if (!stored) return undefined
    const {[MAC_FIELD]: mac, ...value} = stored.value
    const where = this.where(key)
    if (mac === undefined) {
      if (options.allowUnauthenticated) return {revision: stored.revision, value}
      throw unauthenticated(where)
    }

    if (!isPlainObject(mac) || mac.alg !== ALGORITHM || typeof mac.kid !== 'string' || typeof mac.tag !== 'string') {
      throw integrity('The block store record has a malformed MAC.', 'STORE_TAMPERED', 'Restore the file from a backup, or delete it and create it again.', where)
    }

    const master = this.keyring.byId(mac.kid)
    if (!master) throw missingKey(this.keyring, mac.kid, 'The block store record was authenticated', where)

    const expected = tagOf(key, value, master)
    const actual = Buffer.from(mac.tag, 'base64')
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw integrity(
        'The block store record failed authentication: it was edited, planted or moved from another name since keyflow wrote it.',
        'STORE_TAMPERED',
        'Restore the file from a backup, or delete it (keyflow block delete --force) and create it again.',
        where,
      )
    }

    return {keyId: master.id, revision: stored.revision, value}
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix)
  }

  put(key: string, value: Record<string, unknown>, expectedRevision?: null | number, guard?: () => void): Promise<number> {
    const master = this.keyring.encryptionKey()
    const used = [...new Set([master.id, ...sealedKeyIds(value.data)])]
    const mac = {alg: ALGORITHM, kid: master.id, tag: tagOf(key, value, master).toString('base64')}
    return this.inner.put(key, {...value, [MAC_FIELD]: mac}, expectedRevision, () => {
      this.checkKeysStillExist(key, used)
      guard?.()
    })
  }

  where(key: string): string {
    return this.inner.where(key)
  }

  /** Under the lock: the keys as they are now on disk, not as this process read them earlier. */
  private checkKeysStillExist(key: string, ids: string[]): void {
    this.keyring.reload()
    const gone = ids.filter((id) => !this.keyring.byId(id))
    if (gone.length > 0) {
      throw new KeyflowError(`Cannot write ${key}: the master key was rotated while it was being written (key ${gone.join(', ')} is gone). Nothing was written.`, {
        code: 'MASTER_KEY_ROTATED',
        exit: ExitCode.CONFLICT,
        fix: 'Run the command again: it encrypts with the new key.',
        where: this.where(key),
      })
    }
  }
}
