import {readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {describeFsError, ExitCode, KeyflowError} from '../../errors.js'
import {removeDurably, removeLeftovers, writeFileAtomic} from '../../util/fs-atomic.js'
import {isPlainObject, jsonErrorLocation} from '../../util/json.js'
import {withLock} from '../../util/lock.js'
import {checkTrustedDir, ensureTrustedDir, readTrustedFile} from '../../util/trusted-file.js'
import {BlockStore, DeleteOutcome, PutOptions, ReadResult, ScannedRecord, storeConflict, StoredRecord} from './store.js'

/**
 * The embedded store: one JSON file per record under a directory (by default
 * $KEYFLOW_HOME/blocks), `<key>.json`, files 0600 in 0700 directories. Reads take no lock:
 * files are only ever replaced whole by rename. Writes take the store's lock file for the
 * compare-and-swap of the revision, which each file carries as its `revision` field. Every
 * directory and file is checked as trusted (src/lib/util/trusted-file.ts): no links, nothing
 * another user owns or may write.
 */

const SEGMENT = /^[\da-z][\da-z-]*$/

const STORE_DIR = {what: 'block store directory'}

function linkInStore(path: string): KeyflowError {
  return new KeyflowError('The block store holds a symbolic link; keyflow never follows links in the store.', {
    code: 'UNTRUSTED_PATH',
    exit: ExitCode.INTEGRITY,
    fix: 'Remove the link (and check who made it): keyflow writes only real files and directories there.',
    where: path,
  })
}

function corrupt(file: string, problem: string): KeyflowError {
  return new KeyflowError(`The block store file is corrupt: ${problem}.`, {
    code: 'STORE_CORRUPT',
    exit: ExitCode.INTEGRITY,
    fix: `Restore the file from a backup, or remove it (keyflow block delete --force) and create it again.`,
    where: file,
  })
}

function parseRecord(text: string, file: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw corrupt(file, `it is not valid JSON${jsonErrorLocation(text, error)}`)
  }

  if (!isPlainObject(value)) throw corrupt(file, 'it does not hold a JSON object')
  return value
}

export class LocalStore implements BlockStore {
  readonly encryption = 'keyring'
  readonly kind = 'local'
  readonly location: string

  constructor(root: string) {
    this.location = root
  }

  async delete(key: string, expectedRevision?: number): Promise<DeleteOutcome> {
    const file = this.where(key)
    await this.locked(async () => {
      const current = this.readRevision(key, expectedRevision !== undefined)
      if (current === undefined) throw this.conflict(key, 'it no longer exists')
      if (expectedRevision !== undefined && current !== expectedRevision) throw this.conflict(key, 'another process changed it')
      await removeDurably(file)
    })
    return {}
  }

  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.locked(task)
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    return this.readRecord(key)
  }

  async getMany(keys: string[]): Promise<ReadResult[]> {
    return keys.map((key) => {
      try {
        return {key, record: this.readRecord(key)}
      } catch (error) {
        return {error: error as Error, key}
      }
    })
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = []
    const walk = (dir: string, keyPrefix: string) => {
      if (!checkTrustedDir(dir, STORE_DIR)) return
      for (const entry of readdirSync(dir, {withFileTypes: true})) {
        const named = entry.name.endsWith('.json') ? entry.name.slice(0, -5) : entry.name
        if (!SEGMENT.test(named)) continue
        if (entry.isSymbolicLink() && !entry.name.endsWith('.json')) throw linkInStore(join(dir, entry.name))
        // A linked record is listed, so that reading it reports it instead of hiding it.
        if (entry.isDirectory()) walk(join(dir, entry.name), `${keyPrefix}${entry.name}/`)
        else if (entry.name.endsWith('.json')) keys.push(`${keyPrefix}${named}`)
      }
    }

    const base = prefix.replace(/\/$/, '')
    if (base === '') walk(this.location, '')
    else if (this.checkDirs(this.segments(base), false)) walk(join(this.location, ...this.segments(base)), `${base}/`)
    return keys.sort()
  }

  async put(key: string, value: Record<string, unknown>, expectedRevision?: null | number, options: PutOptions = {}): Promise<number> {
    const file = this.where(key)
    return this.locked(async () => {
      this.checkDirs(this.segments(key).slice(0, -1), true)
      options.guard?.()
      await removeLeftovers(dirname(file))
      const current = this.readRevision(key, expectedRevision !== undefined)
      if (expectedRevision === null && current !== undefined) throw this.conflict(key, 'it already exists', 'ALREADY_EXISTS')
      if (typeof expectedRevision === 'number' && current !== expectedRevision) {
        throw this.conflict(key, current === undefined ? 'another process deleted it' : 'another process changed it')
      }

      const revision = (current ?? 0) + 1
      await writeFileAtomic(file, JSON.stringify({revision, ...value}, null, 2) + '\n')
      return revision
    })
  }

  /** Files carry no summary apart from their content: the caller reads them (getMany). */
  async scan(prefix: string): Promise<ScannedRecord[]> {
    return (await this.list(prefix)).map((key) => ({key}))
  }

  where(key: string): string {
    return join(this.location, ...this.segments(key)) + '.json'
  }

  /** Checks the store directory and the directories `segments` name under it, creating them when asked; false if one is absent. */
  private checkDirs(segments: string[], create: boolean): boolean {
    let dir = this.location
    for (const segment of ['', ...segments]) {
      dir = join(dir, segment)
      if (create) ensureTrustedDir(dir, STORE_DIR)
      else if (!checkTrustedDir(dir, STORE_DIR)) return false
    }

    return true
  }

  private conflict(key: string, why: string, code?: string): KeyflowError {
    return storeConflict(key, why, this.where(key), code)
  }

  /** Runs a write under the store lock; a failing disk is a clear error, not a crash. */
  private async locked<T>(task: () => Promise<T>): Promise<T> {
    try {
      ensureTrustedDir(this.location, STORE_DIR)
      return await withLock(join(this.location, '.lock'), 'block store', task)
    } catch (error) {
      if (error instanceof KeyflowError) throw error
      throw new KeyflowError(`Cannot write to the block store: ${describeFsError(error)}. Nothing was changed.`, {
        cause: error,
        code: 'STORE_WRITE_FAILED',
        exit: ExitCode.INTEGRITY,
        fix: 'Check free space and the permissions of the store directory.',
        where: this.location,
      })
    }
  }

  /**
   * The record at `key`, read synchronously so a compare-and-swap can use it under the lock.
   * Every directory on the way is checked (a link or another user's directory is an integrity
   * error) and the file is read as a trusted file: never through a link.
   */
  private readRecord(key: string): StoredRecord | undefined {
    const file = this.where(key)
    if (!this.checkDirs(this.segments(key).slice(0, -1), false)) return undefined
    const unreadable = (reason: string) =>
      new KeyflowError(`Cannot read the block store file: ${reason}.`, {code: 'STORE_UNREADABLE', exit: ExitCode.INTEGRITY, fix: 'Check the file and its permissions.', where: file})
    const found = readTrustedFile(file, {unreadable, what: 'block store file'})
    if (!found) return undefined
    const {revision, ...rest} = parseRecord(found.bytes.toString('utf8'), file)
    if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1) throw corrupt(file, 'it has no valid revision')
    return {revision, value: rest}
  }

  /** The current revision; a corrupt record counts as revision 0 only for unconditional writes. */
  private readRevision(key: string, strict: boolean): number | undefined {
    try {
      return this.readRecord(key)?.revision
    } catch (error) {
      if (strict) throw error
      return 0
    }
  }

  private segments(key: string): string[] {
    const segments = key.split('/')
    if (segments.some((segment) => !SEGMENT.test(segment))) {
      // Keys come from checked slugs and names; anything else is a bug, not user input.
      throw new KeyflowError(`Invalid store key ${JSON.stringify(key)}.`, {code: 'INTERNAL', exit: ExitCode.INTERNAL})
    }

    return segments
  }
}
