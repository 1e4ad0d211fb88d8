import {MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from '../../env-names.js'
import {ExitCode, KeyflowError} from '../../errors.js'
import {BlockContext} from '../context.js'
import {resealSecrets, sealedKeyIds} from '../documents/fields.js'
import {toDocument} from '../documents/records.js'
import {formatAddress} from '../names.js'
import {BlockStore} from '../store/store.js'
import {Keyring, MasterKey} from './crypto.js'

/**
 * `keyflow block rekey`: re-encrypts every document's secret values with a new master key.
 *
 * With the key file: a new key is written to master.key.new first; from then on every
 * keyflow process encrypts with it and decrypts with either. Each document is re-encrypted
 * with compare-and-swap; only when all are done does master.key.new replace master.key. A
 * crash leaves both keys in place, and running rekey again finishes the job.
 * With KEYFLOW_MASTER_KEY: the new key comes from KEYFLOW_NEW_MASTER_KEY, and the user swaps
 * the variables afterwards.
 */

export interface RekeyResult {
  documents: number
  keyId: string
  /** What the user must still do, when the key lives in the environment. */
  next?: string
  previousKeyId?: string
  values: number
}

const PASSES = 3

const addressOf = (storeKey: string) => {
  const [, type, name] = storeKey.split('/')
  return {name, type}
}

const describeFailure = (storeKey: string, error: unknown) =>
  `${formatAddress(addressOf(storeKey))}: ${error instanceof KeyflowError ? `${error.message}${error.where ? ` (${error.where})` : ''}` : 'unreadable'}`

/** Re-encrypts one document's values that are not under `key` yet; returns how many. */
async function rekeyDocument(store: BlockStore, keyring: Keyring, key: MasterKey, storeKey: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const stored = await store.get(storeKey)
    if (!stored) return 0
    const document = toDocument(addressOf(storeKey), stored, store.where(storeKey))
    const {changed, data} = resealSecrets(document, keyring, key)
    if (changed === 0) return 0
    try {
      // eslint-disable-next-line no-await-in-loop
      await store.put(storeKey, {...document.record, data}, document.revision)
      return changed
    } catch (error) {
      // Changed by another process since it was read: read it again.
      if (!(error instanceof KeyflowError && error.code === 'CONFLICT' && attempt < 10)) throw error
    }
  }
}

/** Documents that still hold a value the old key is needed for. */
async function stillNeedOldKey(store: BlockStore, key: MasterKey): Promise<string[]> {
  const problems: string[] = []
  for (const storeKey of await store.list('documents/')) {
    try {
      // eslint-disable-next-line no-await-in-loop
      const stored = await store.get(storeKey)
      const ids = stored ? sealedKeyIds(toDocument(addressOf(storeKey), stored, store.where(storeKey)).record.data) : []
      const stale = ids.filter((id) => id !== key.id)
      if (stale.length > 0) problems.push(`${formatAddress(addressOf(storeKey))}: still encrypted with ${stale.join(', ')} (written during the rotation)`)
    } catch (error) {
      problems.push(describeFailure(storeKey, error))
    }
  }

  return problems
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

export async function rekeyStore(context: BlockContext): Promise<RekeyResult> {
  const {keyring, store} = context
  const previousKeyId = keyring.keys().current?.id
  const key = startRotation(keyring)
  const rewritten = new Set<string>()
  let failures: string[] = []
  let values = 0
  // Later passes catch documents written with the old key by a process that started before the rotation.
  for (let pass = 0; pass < PASSES; pass++) {
    failures = []
    let changedThisPass = 0
    // eslint-disable-next-line no-await-in-loop
    for (const storeKey of await store.list('documents/')) {
      try {
        // eslint-disable-next-line no-await-in-loop
        const changed = await rekeyDocument(store, keyring, key, storeKey)
        if (changed > 0) rewritten.add(storeKey)
        changedThisPass += changed
      } catch (error) {
        failures.push(describeFailure(storeKey, error))
      }
    }

    values += changedThisPass
    if (changedThisPass === 0) break
  }

  // The old key is only dropped when no document needs it any more.
  if (failures.length === 0) failures = await stillNeedOldKey(store, key)
  if (failures.length > 0) {
    throw new KeyflowError(`The master key was not rotated: ${failures.length} document${failures.length > 1 ? 's' : ''} could not be re-encrypted.`, {
      code: 'REKEY_INCOMPLETE',
      details: failures,
      exit: ExitCode.INTEGRITY,
      fix: 'Fix or delete those documents, then run `keyflow block rekey` again: it continues with the same new key.',
    })
  }

  if (keyring.fromEnv) {
    return {documents: rewritten.size, keyId: key.id, next: `Set ${MASTER_KEY_ENV} to the value of ${NEW_MASTER_KEY_ENV}, and unset ${NEW_MASTER_KEY_ENV}.`, previousKeyId, values}
  }

  keyring.promoteNextFile()
  return {documents: rewritten.size, keyId: key.id, previousKeyId, values}
}
