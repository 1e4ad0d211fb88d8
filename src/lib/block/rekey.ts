import {ExitCode, KeyflowError} from '../errors.js'
import {BlockContext} from './context.js'
import {MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from './crypto.js'
import {resealSecrets, sealedKeyIds} from './document.js'
import {documentKey, toDocument} from './documents.js'
import {formatAddress} from './names.js'

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

export async function rekeyStore(context: BlockContext): Promise<RekeyResult> {
  const {keyring, store} = context
  let previousKeyId: string | undefined
  if (keyring.fromEnv) {
    if (!keyring.keys().next) {
      throw new KeyflowError(`The master key comes from ${MASTER_KEY_ENV}; give the new one in ${NEW_MASTER_KEY_ENV}.`, {
        code: 'USAGE',
        exit: ExitCode.USAGE,
        fix: `${NEW_MASTER_KEY_ENV}="$(openssl rand -base64 32)" keyflow block rekey, then set ${MASTER_KEY_ENV} to that value.`,
      })
    }

    previousKeyId = keyring.keys().current?.id
  } else {
    previousKeyId = keyring.keys().current?.id
    keyring.startFileRotation()
  }

  const key = keyring.keys().next!
  const failures: string[] = []
  const rewritten = new Set<string>()
  let values = 0
  // Later passes catch documents written with the old key by a process that started before the rotation.
  for (let pass = 0; pass < PASSES; pass++) {
    failures.length = 0
    let changedThisPass = 0
    // eslint-disable-next-line no-await-in-loop
    for (const storeKey of await store.list('documents/')) {
      const [, type, name] = storeKey.split('/')
      const address = {name, type}
      for (let attempt = 0; ; attempt++) {
        try {
          // eslint-disable-next-line no-await-in-loop
          const stored = await store.get(documentKey(address))
          if (!stored) break
          const document = toDocument(address, stored, store.where(storeKey))
          const {changed, data} = resealSecrets(document.record.data, document.address, keyring, key, document.where)
          if (changed === 0) break
          // eslint-disable-next-line no-await-in-loop
          await store.put(storeKey, {...document.record, data}, document.revision)
          values += changed
          changedThisPass += changed
          rewritten.add(document.address)
          break
        } catch (error) {
          if (error instanceof KeyflowError && error.code === 'CONFLICT' && attempt < 10) continue
          failures.push(`${formatAddress(address)}: ${error instanceof KeyflowError ? `${error.message}${error.where ? ` (${error.where})` : ''}` : 'unreadable'}`)
          break
        }
      }
    }

    if (changedThisPass === 0) break
  }

  // The old key is only dropped when no document needs it any more.
  if (failures.length === 0) {
    for (const storeKey of await store.list('documents/')) {
      const [, type, name] = storeKey.split('/')
      try {
        // eslint-disable-next-line no-await-in-loop
        const stored = await store.get(storeKey)
        const stale = stored ? sealedKeyIds(toDocument({name, type}, stored, store.where(storeKey)).record.data).filter((id) => id !== key.id) : []
        if (stale.length > 0) failures.push(`${type}/${name}: still encrypted with ${stale.join(', ')} (written during the rotation)`)
      } catch {
        failures.push(`${type}/${name}: unreadable (${store.where(storeKey)})`)
      }
    }
  }

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
