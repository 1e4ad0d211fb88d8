import {closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from '../../env-names.js'
import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../../errors.js'
import {checkHome, ensureHome} from '../../settings/settings.js'
import {nodeCrypto} from '../../util/builtin.js'
import {tempPath} from '../../util/fs-atomic.js'
import {isPlainObject} from '../../util/json.js'
import {readTrustedFile} from '../../util/trusted-file.js'

/**
 * Encryption of literal secret field values at rest: AES-256-GCM, a fresh 96-bit IV per value,
 * and the document address and field path as additional authenticated data, so a ciphertext
 * copied into another document or field does not decrypt. Each value names the key it was
 * encrypted with by id (a hash of the key, never the key), so a wrong key is told apart from
 * a tampered value.
 *
 * The master key: KEYFLOW_MASTER_KEY (base64 of 32 bytes), else $KEYFLOW_HOME/master.key,
 * created 0600 on first use. A key file that group or others may read is refused, as ssh
 * refuses such a private key. During `keyflow block rekey` a second key (master.key.new, or
 * KEYFLOW_NEW_MASTER_KEY) exists; new values are encrypted with it and both keys decrypt.
 */

const KEY_BYTES = 32
const ALGORITHM = 'A256GCM'

export interface MasterKey {
  id: string
  key: Buffer
  /** Where it came from, for messages: a file or an env var name. */
  origin: string
}

export interface SealedValue {
  alg: typeof ALGORITHM
  ct: string
  iv: string
  kid: string
  tag: string
}

export const keyId = (key: Buffer): string => nodeCrypto().createHash('sha256').update('keyflow-master-key\0').update(key).digest('hex').slice(0, 16)

function integrity(message: string, fix: string, where?: string, code = 'MASTER_KEY'): KeyflowError {
  return new KeyflowError(message, {code, exit: ExitCode.INTEGRITY, fix, where})
}

export function parseKey(text: string, origin: string): MasterKey {
  const trimmed = text.trim()
  const key = Buffer.from(trimmed, 'base64')
  if (key.length !== KEY_BYTES || !/^[\d+/A-Za-z]+=*$/.test(trimmed)) {
    throw integrity(`The master key is not base64 of ${KEY_BYTES} bytes.`, `Generate one with: openssl rand -base64 ${KEY_BYTES}`, origin, 'MASTER_KEY_INVALID')
  }

  return {id: keyId(key), key, origin}
}

function readKeyFile(path: string): MasterKey | undefined {
  const file = readTrustedFile(path, {secret: true, what: 'master key file'})
  return file && parseKey(file.bytes.toString('utf8'), path)
}

/**
 * Creates the key file without ever exposing a partial one: the key is written to a private
 * temporary file, fsynced, then hard-linked into place, which fails if another process won the
 * race, in which case that process's key is used. A failure (a full disk) leaves nothing behind.
 */
function createKeyFile(path: string): MasterKey {
  const temporary = tempPath(path)
  try {
    ensureHome(dirname(path))
    const fd = openSync(temporary, 'wx', 0o600)
    try {
      writeSync(fd, nodeCrypto().randomBytes(KEY_BYTES).toString('base64') + '\n')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }

    linkSync(temporary, path)
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') {
      throw integrity(`Cannot create the master key: ${describeFsError(error)}. Nothing was written.`, 'Free some space or fix the permissions of the directory, then try again.', path, 'MASTER_KEY_CREATE_FAILED')
    }
  } finally {
    rmSync(temporary, {force: true})
  }

  return readKeyFile(path)!
}

export class Keyring {
  private readonly env: NodeJS.ProcessEnv
  private readonly home: string
  private loaded?: {current?: MasterKey; next?: MasterKey}

  constructor(home: string, env: NodeJS.ProcessEnv) {
    this.home = home
    this.env = env
  }

  get filePath(): string {
    return join(this.home, 'master.key')
  }

  /** True when the key comes from KEYFLOW_MASTER_KEY. */
  get fromEnv(): boolean {
    return Boolean(this.env[MASTER_KEY_ENV])
  }

  get nextFilePath(): string {
    return join(this.home, 'master.key.new')
  }

  byId(id: string): MasterKey | undefined {
    const {current, next} = this.load()
    return [next, current].find((key) => key?.id === id)
  }

  /** The key new values are encrypted with, created on first use when the file is the source. */
  encryptionKey(): MasterKey {
    const keys = this.load()
    if (keys.next) return keys.next
    if (keys.current) return keys.current
    keys.current = createKeyFile(this.filePath)
    return keys.current
  }

  /** Both keys while a rotation is under way. */
  keys(): {current?: MasterKey; next?: MasterKey} {
    return this.load()
  }

  /** Finishes a rotation done with the key files: master.key.new replaces master.key. */
  promoteNextFile(): void {
    renameSync(this.nextFilePath, this.filePath)
    this.reload()
  }

  /** Drops what was read, e.g. after a rotation changed the files. */
  reload(): void {
    this.loaded = undefined
  }

  /** Starts a rotation with a new random key file, unless one is already under way. */
  startFileRotation(): MasterKey {
    const keys = this.load()
    if (keys.next) return keys.next
    keys.next = createKeyFile(this.nextFilePath)
    return keys.next
  }

  private load(): {current?: MasterKey; next?: MasterKey} {
    if (this.loaded) return this.loaded
    if (this.fromEnv) {
      const next = this.env[NEW_MASTER_KEY_ENV]
      this.loaded = {
        current: parseKey(this.env[MASTER_KEY_ENV]!, `env ${MASTER_KEY_ENV}`),
        next: next ? parseKey(next, `env ${NEW_MASTER_KEY_ENV}`) : undefined,
      }
    } else {
      const home = checkHome(this.home)
      this.loaded = home ? {current: readKeyFile(this.filePath), next: readKeyFile(this.nextFilePath)} : {}
    }

    return this.loaded
  }
}

export function seal(value: unknown, aad: string, key: MasterKey): SealedValue {
  const iv = nodeCrypto().randomBytes(12)
  const cipher = nodeCrypto().createCipheriv('aes-256-gcm', key.key, iv)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  return {alg: ALGORITHM, ct: ct.toString('base64'), iv: iv.toString('base64'), kid: key.id, tag: cipher.getAuthTag().toString('base64')}
}

export function isSealed(value: unknown): value is SealedValue {
  return (
    isPlainObject(value) &&
    value.alg === ALGORITHM &&
    typeof value.ct === 'string' &&
    typeof value.iv === 'string' &&
    typeof value.kid === 'string' &&
    typeof value.tag === 'string'
  )
}

/** The error for data sealed or authenticated with a key this keyring does not hold; `subject` says what ("A secret field was encrypted"). */
export function missingKey(keyring: Keyring, kid: string, subject: string, where: string): KeyflowError {
  const {current, next} = keyring.keys()
  const have = [current, next].filter((candidate) => candidate !== undefined).map((candidate) => `${candidate.id} (${candidate.origin})`)
  return integrity(
    `${subject} with master key ${kid}, which is not available${have.length > 0 ? `: the key in use is ${have.join(', ')}` : ': no master key is configured'}.`,
    `Use the master key this store was written with (${MASTER_KEY_ENV} or ${keyring.filePath}).`,
    where,
    'MASTER_KEY_WRONG',
  )
}

/** Decrypts a value, or throws INTEGRITY saying whether the key is wrong or the value altered. */
export function unseal(sealed: unknown, aad: string, keyring: Keyring, where: string): unknown {
  if (!isSealed(sealed)) throw integrity(`An encrypted value at ${aad.split(':').at(-1)} is malformed.`, 'Restore the file from a backup, or set the field again.', where, 'SECRET_MALFORMED')
  const key = keyring.byId(sealed.kid)
  if (!key) throw missingKey(keyring, sealed.kid, 'A secret field was encrypted', where)
  try {
    const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key.key, Buffer.from(sealed.iv, 'base64'))
    decipher.setAAD(Buffer.from(aad, 'utf8'))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()])
    return JSON.parse(plain.toString('utf8'))
  } catch {
    throw integrity(
      `A secret field failed authentication: it was altered, or moved from another document or field.`,
      'Restore the file from a backup, or set the field again.',
      where,
      'SECRET_TAMPERED',
    )
  }
}
