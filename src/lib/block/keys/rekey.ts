import {MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from '../../env-names.js'
import {ExitCode, KeyflowError} from '../../errors.js'
import {BlockContext} from '../context.js'
import {resealSecrets, sealedKeyIds, unsealSecrets} from '../documents/fields.js'
import {toDocument} from '../documents/records.js'
import {formatAddress} from '../names.js'
import {AuthenticatedStore} from '../store/authenticated.js'
import {Keyring, MasterKey} from './crypto.js'

/**
 * `keyflow block rekey`: re-encrypts every document's secret values, and re-authenticates
 * every record (documents and registered types, store/authenticated.ts), with a new master key.
 *
 * With the key file: a new key is written to master.key.new first; from then on every
 * keyflow process encrypts with it and decrypts with either. Each record is rewritten with
 * compare-and-swap. Then, holding the store's lock so that no writer can land a record in
 * between, rekey proves that every record opens with the new key alone (its MAC verifies and
 * each secret value decrypts) and only then lets master.key.new replace master.key. A record
 * a slower writer sealed with the old key in the meantime sends rekey round again; a writer
 * that comes after the swap finds its key gone under the lock and fails with exit 7. A crash
 * leaves both keys in place, and running rekey again finishes the job.
 * With KEYFLOW_MASTER_KEY: the new key comes from KEYFLOW_NEW_MASTER_KEY, and the user swaps
 * the variables afterwards.
 *
 * `adoptUnauthenticated` takes records written before keyflow authenticated records (they
 * have no MAC) into the store by authenticating them, and lists them: the user vouches for them.
 */

export interface RekeyOptions {
  adoptUnauthenticated?: boolean
}

export interface RekeyResult {
  /** Records that had no MAC and were authenticated on the user's word (--adopt-unauthenticated). */
  adopted: string[]
  documents: number
  keyId: string
  /** What the user must still do, when the key lives in the environment. */
  next?: string
  previousKeyId?: string
  values: number
}

const ROUNDS = 5

const addressOf = (storeKey: string) => {
  const [, type, name] = storeKey.split('/')
  return {name, type}
}

const isDocument = (storeKey: string) => storeKey.startsWith('documents/')
const label = (storeKey: string) => (isDocument(storeKey) ? formatAddress(addressOf(storeKey)) : `block type ${storeKey.slice('types/'.length)}`)

const describeFailure = (storeKey: string, error: unknown) =>
  `${label(storeKey)}: ${error instanceof KeyflowError ? `${error.message}${error.where ? ` (${error.where})` : ''}` : 'unreadable'}`

/** One rotation under way: what it works with and what it has done so far. */
interface Rotation {
  adopted: Set<string>
  context: BlockContext
  key: MasterKey
  options: RekeyOptions
  rewritten: Set<string>
  values: number
}

/** Rewrites one record under `key` unless it is already sealed and authenticated with it. */
async function rekeyRecord(rotation: Rotation, storeKey: string): Promise<void> {
  const {context: {keyring, store}, key, options} = rotation
  for (let attempt = 0; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const stored = await store.get(storeKey, {allowUnauthenticated: options.adoptUnauthenticated})
    if (!stored) return
    let {value} = stored
    let changed = 0
    if (isDocument(storeKey)) {
      const document = toDocument(addressOf(storeKey), stored, store.where(storeKey))
      // Decrypting proves at least the secret fields of an adopted record were sealed with a key the user holds.
      if (stored.keyId === undefined) unsealSecrets(document.record.data, document.address, keyring, document.where)
      const resealed = resealSecrets(document, keyring, key)
      changed = resealed.changed
      value = {...document.record, data: resealed.data}
    }

    if (changed === 0 && stored.keyId === key.id) return
    try {
      // eslint-disable-next-line no-await-in-loop
      await store.put(storeKey, value, stored.revision)
      if (stored.keyId === undefined) rotation.adopted.add(storeKey)
      if (isDocument(storeKey) && changed > 0) rotation.rewritten.add(storeKey)
      rotation.values += changed
      return
    } catch (error) {
      // Changed by another process since it was read: read it again.
      if (!(error instanceof KeyflowError && error.code === 'CONFLICT' && attempt < 10)) throw error
    }
  }
}

/**
 * Under the lock: every record's MAC is under `key`, and each secret value is sealed with
 * `key` and decrypts. Returns what does not hold yet; unreadable records are failures.
 */
async function proveNewKey(store: AuthenticatedStore, keyring: Keyring, key: MasterKey): Promise<{failures: string[]; stale: string[]}> {
  const failures: string[] = []
  const stale: string[] = []
  for (const storeKey of await store.list('')) {
    try {
      // eslint-disable-next-line no-await-in-loop
      const stored = await store.get(storeKey)
      if (!stored) continue
      const sealedWith = isDocument(storeKey) ? sealedKeyIds(stored.value.data) : []
      if (stored.keyId !== key.id || sealedWith.some((id) => id !== key.id)) {
        stale.push(storeKey)
        continue
      }

      if (isDocument(storeKey)) {
        const document = toDocument(addressOf(storeKey), stored, store.where(storeKey))
        unsealSecrets(document.record.data, document.address, keyring, document.where)
      }
    } catch (error) {
      failures.push(describeFailure(storeKey, error))
    }
  }

  return {failures, stale}
}

function startRotation(keyring: Keyring): MasterKey {
  if (!keyring.fromEnv) return keyring.startFileRotation()
  const {next} = keyring.keys()
  if (next) return next
  throw new KeyflowError(`The master key comes from ${MASTER_KEY_ENV}; give the new one in ${NEW_MASTER_KEY_ENV}.`, {
    code: 'USAGE',
    exit: ExitCode.USAGE,
    fix: `${NEW_MASTER_KEY_ENV}="$(openssl rand -base64 32)" keyflow block rekey, then set ${MASTER_KEY_ENV} to that value.`,
  })
}

function incomplete(failures: string[]): KeyflowError {
  return new KeyflowError(`The master key was not rotated: ${failures.length} record${failures.length > 1 ? 's' : ''} could not be re-encrypted; the old key is kept.`, {
    code: 'REKEY_INCOMPLETE',
    details: failures,
    exit: ExitCode.INTEGRITY,
    fix: 'Fix or delete those documents, then run `keyflow block rekey` again: it continues with the same new key.',
  })
}

export async function rekeyStore(context: BlockContext, options: RekeyOptions = {}): Promise<RekeyResult> {
  const {keyring, store} = context
  const previousKeyId = keyring.keys().current?.id
  const key = startRotation(keyring)
  const rotation: Rotation = {adopted: new Set(), context, key, options, rewritten: new Set(), values: 0}
  for (let round = 0; round < ROUNDS; round++) {
    const failures: string[] = []
    // eslint-disable-next-line no-await-in-loop
    for (const storeKey of await store.list('')) {
      try {
        // eslint-disable-next-line no-await-in-loop
        await rekeyRecord(rotation, storeKey)
      } catch (error) {
        failures.push(describeFailure(storeKey, error))
      }
    }

    if (failures.length > 0) throw incomplete(failures)
    // eslint-disable-next-line no-await-in-loop
    const proved = await store.exclusive(async () => {
      const {failures: unopenable, stale} = await proveNewKey(store, keyring, key)
      if (unopenable.length > 0) throw incomplete(unopenable)
      // Written with the old key by a process that sealed before the rotation: another round.
      if (stale.length > 0) return false
      if (!keyring.fromEnv) keyring.promoteNextFile()
      return true
    })
    if (proved) {
      const result = {adopted: [...rotation.adopted].map((storeKey) => label(storeKey)), documents: rotation.rewritten.size, keyId: key.id, previousKeyId, values: rotation.values}
      if (!keyring.fromEnv) return result
      return {...result, next: `Set ${MASTER_KEY_ENV} to the value of ${NEW_MASTER_KEY_ENV}, and unset ${NEW_MASTER_KEY_ENV}.`}
    }
  }

  throw new KeyflowError('The master key was not rotated: other keyflow processes kept writing with the old key; the old key is kept.', {
    code: 'REKEY_INCOMPLETE',
    exit: ExitCode.CONFLICT,
    fix: 'Run `keyflow block rekey` again when fewer writers are busy: it continues with the same new key.',
  })
}
