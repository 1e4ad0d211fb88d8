import {createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes} from 'node:crypto'
import {existsSync, readdirSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {Keyring, MasterKey} from '../block/keys/crypto.js'
import {errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {Provenance} from '../secret/source.js'
import {writeFileAtomic} from '../util/fs-atomic.js'
import {isPlainObject} from '../util/json.js'
import {ensureTrustedDir, readTrustedFile, Refusal} from '../util/trusted-file.js'

/**
 * The encrypted cache under $KEYFLOW_HOME/cache (docs/cache.md). One file per entry, named by
 * an HMAC of the entry's identity (where the value came from: endpoint, region, profile,
 * secret id, version id or stage), so the directory does not say which secrets are cached.
 * Each file holds one AES-256-GCM ciphertext of {identity, storedAt, provenance, value}, under
 * a key derived (HKDF) from the master key, with the file's name as associated data: a file
 * copied under another name fails authentication, and a read checks that the identity inside
 * is the one asked for. Anything that does not decrypt to the identity asked for is a miss.
 */

const FORMAT = 'keyflow-cache-v1'
const ENTRY_SUFFIX = '.entry'

export interface EntryIdentity {
  /** What else decides the answer besides the id: source kind, endpoint, region, profile. */
  scope: string[]
  secretId: string
  versionId?: string
  versionStage?: string
}

export interface CachedEntry {
  identity: EntryIdentity
  provenance: Provenance
  storedAt: number
  value: string | Uint8Array
}

interface Envelope {
  ct: string
  iv: string
  kid: string
  tag: string
  v: 1
}

interface DerivedKeys {
  entry: Buffer
  name: Buffer
}

const identityText = (identity: EntryIdentity): string =>
  JSON.stringify([FORMAT, ...identity.scope, identity.secretId, identity.versionId ?? '', identity.versionStage ?? ''])

const sameIdentity = (a: EntryIdentity, b: EntryIdentity) => identityText(a) === identityText(b)

function derive(master: MasterKey, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master.key, FORMAT, purpose, 32))
}

function isEnvelope(value: unknown): value is Envelope {
  return isPlainObject(value) && value.v === 1 && ['ct', 'iv', 'kid', 'tag'].every((field) => typeof value[field] === 'string')
}

function isEntry(value: unknown): value is Omit<CachedEntry, 'value'> & {value: {base64?: string; text?: string}} {
  return (
    isPlainObject(value) &&
    isPlainObject(value.identity) &&
    Array.isArray(value.identity.scope) &&
    typeof value.identity.secretId === 'string' &&
    typeof value.storedAt === 'number' &&
    isPlainObject(value.provenance) &&
    isPlainObject(value.value)
  )
}

/** The cache is keyflow's own to recreate, so the fix for a directory in the way is to remove it. */
function refuseCacheDir(dir: string) {
  return (refusal: Refusal) =>
    new KeyflowError(`The cache directory is ${refusal.problem}; keyflow will not use it.`, {
      code: 'CACHE_UNTRUSTED',
      exit: ExitCode.INTEGRITY,
      fix:
        refusal.kind === 'mode'
          ? refusal.fix
          : refusal.kind === 'owner'
            ? 'Remove it (keyflow recreates it), or set KEYFLOW_HOME to a directory you own.'
            : `Remove it; keyflow creates ${dir} itself.`,
      where: dir,
    })
}

/**
 * An entry's bytes when it is a trusted file; anything else (a link, another user's file) reads
 * as absent, a miss: the directory is already checked, and an entry is authenticated anyway.
 */
function readEntry(path: string): Buffer | undefined {
  try {
    return readTrustedFile(path, {what: 'cache entry'})?.bytes
  } catch (error) {
    if (error instanceof KeyflowError) return undefined
    throw error
  }
}

export interface ListedFile {
  bytes: number
  /** undefined when the file does not decrypt with the key in use. */
  entry?: CachedEntry
  file: string
}

export class CacheStore {
  readonly dir: string
  private readonly derived = new Map<string, DerivedKeys>()
  private readonly keyring: Keyring

  private constructor(dir: string, keyring: Keyring) {
    this.dir = dir
    this.keyring = keyring
  }

  /** Opens the cache of `home`, refusing (exit 8) a directory another user controls. */
  static open(home: string, env: NodeJS.ProcessEnv): CacheStore {
    const dir = join(home, 'cache')
    ensureTrustedDir(dir, {refuse: refuseCacheDir(dir), what: 'cache directory'})
    return new CacheStore(dir, new Keyring(home, env))
  }

  /** The cache of `home` when it has one, without creating it: for dropping entries, which needs no cache to be in use. */
  static openExisting(home: string, env: NodeJS.ProcessEnv): CacheStore | undefined {
    return existsSync(join(home, 'cache')) ? CacheStore.open(home, env) : undefined
  }

  /** Removes every entry file (and temporaries left by a crash); locks are left to their holders. */
  clear(): number {
    let removed = 0
    for (const file of this.files()) {
      if (this.unlink(file)) removed++
    }

    for (const file of readdirSync(this.dir).filter((name) => name.endsWith('.tmp'))) this.unlink(file)
    return removed
  }

  /** Every entry file, decrypted where the key in use opens it. */
  list(): ListedFile[] {
    return this.files().map((file) => {
      const bytes = readEntry(join(this.dir, file))
      return {bytes: bytes?.length ?? 0, entry: bytes ? this.open(file, bytes) : undefined, file}
    })
  }

  /**
   * Holds the entry's lock while `task` runs, so that processes missing the same entry make one
   * call between them. The wait is bounded: past `waitMs` the task runs unlocked (a hung holder
   * costs one more call, never a hang), and a lock whose holder died is broken at once.
   */
  async locked<T>(identities: EntryIdentity[], waitMs: number, task: () => Promise<T>): Promise<T> {
    // Only a miss locks: a hit must not pay for node:os and node:fs/promises, which the locks load.
    const {acquireLock, releaseLock} = await import('../util/lock.js')
    const names = [...new Set(identities.map((identity) => this.fileName(identity)))].sort()
    const held: Array<{path: string; token: string}> = []
    try {
      // In one order everywhere, so that two batches never wait on each other.
      for (const name of names) {
        const path = join(this.dir, `${name}.lock`)
        // A holder still holding after the wait is stuck, or its pid is another process's now.
        // eslint-disable-next-line no-await-in-loop
        const token = await acquireLock(path, waitMs, {staleAfterMs: waitMs})
        if (token) held.push({path, token})
      }

      return await task()
    } finally {
      await Promise.all(held.map(({path, token}) => releaseLock(path, token)))
    }
  }

  read(identity: EntryIdentity): CachedEntry | undefined {
    const name = this.fileName(identity)
    const bytes = readEntry(join(this.dir, name))
    const entry = bytes ? this.open(name, bytes) : undefined
    return entry && sameIdentity(entry.identity, identity) ? entry : undefined
  }

  remove(identity: EntryIdentity): void {
    this.unlink(this.fileName(identity))
  }

  /** Removes the entries `match` picks among those the key in use opens; returns what it removed. */
  removeWhere(match: (entry: CachedEntry) => boolean): CachedEntry[] {
    const removed: CachedEntry[] = []
    for (const {entry, file} of this.list()) {
      if (entry && match(entry) && this.unlink(file)) removed.push(entry)
    }

    return removed
  }

  async write(entry: CachedEntry): Promise<void> {
    const master = this.keyring.encryptionKey()
    const name = this.fileName(entry.identity)
    const value = typeof entry.value === 'string' ? {text: entry.value} : {base64: Buffer.from(entry.value).toString('base64')}
    const plain = Buffer.from(JSON.stringify({...entry, value}), 'utf8')
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.keys(master).entry, iv)
    cipher.setAAD(Buffer.from(`${FORMAT}:${name}`, 'utf8'))
    const ct = Buffer.concat([cipher.update(plain), cipher.final()])
    plain.fill(0)
    const envelope: Envelope = {ct: ct.toString('base64'), iv: iv.toString('base64'), kid: master.id, tag: cipher.getAuthTag().toString('base64'), v: 1}
    await writeFileAtomic(join(this.dir, name), JSON.stringify(envelope))
  }

  /** The entry's file name under the key in use (created on first use, as the block store's is). */
  private fileName(identity: EntryIdentity): string {
    return createHmac('sha256', this.keys(this.keyring.encryptionKey()).name).update(identityText(identity)).digest('hex').slice(0, 40) + ENTRY_SUFFIX
  }

  private files(): string[] {
    return readdirSync(this.dir).filter((name) => name.endsWith(ENTRY_SUFFIX))
  }

  private keys(master: MasterKey): DerivedKeys {
    let keys = this.derived.get(master.id)
    if (!keys) {
      keys = {entry: derive(master, 'entry-encryption'), name: derive(master, 'entry-names')}
      this.derived.set(master.id, keys)
    }

    return keys
  }

  /** Decrypts a file's content, or undefined: corrupt, another key's, or moved from another name. */
  private open(name: string, bytes: Buffer): CachedEntry | undefined {
    try {
      const envelope: unknown = JSON.parse(bytes.toString('utf8'))
      if (!isEnvelope(envelope)) return undefined
      const master = this.keyring.byId(envelope.kid)
      if (!master) return undefined
      const decipher = createDecipheriv('aes-256-gcm', this.keys(master).entry, Buffer.from(envelope.iv, 'base64'))
      decipher.setAAD(Buffer.from(`${FORMAT}:${name}`, 'utf8'))
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'))
      const parsed: unknown = JSON.parse(Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64')), decipher.final()]).toString('utf8'))
      if (!isEntry(parsed) || this.fileName(parsed.identity) !== name) return undefined
      const {base64, text} = parsed.value
      const value = typeof text === 'string' ? text : typeof base64 === 'string' ? new Uint8Array(Buffer.from(base64, 'base64')) : undefined
      return value === undefined ? undefined : {...parsed, value}
    } catch {
      return undefined
    }
  }

  private unlink(file: string): boolean {
    try {
      unlinkSync(join(this.dir, file))
      return true
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false
      throw error
    }
  }
}
