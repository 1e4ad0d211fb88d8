import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../../errors.js'
import {isPlainObject, jsonErrorLocation} from '../../util/json.js'
import {ensurePrivateDir, removeDurably, writeFileAtomic} from './fs-atomic.js'
import {withLock} from './lock.js'
import {BlockStore, StoredRecord} from './store.js'

/**
 * The embedded store: one JSON file per record under a directory (by default
 * $KEYFLOW_HOME/blocks), `<key>.json`, files 0600 in 0700 directories. Reads take no lock:
 * files are only ever replaced whole by rename. Writes take the store's lock file for the
 * compare-and-swap of the revision, which each file carries as its `revision` field.
 */

const SEGMENT = /^[\da-z][\da-z-]*$/

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
  readonly location: string

  constructor(root: string) {
    this.location = root
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    const file = this.where(key)
    await this.locked(async () => {
      const current = this.readRevision(key, expectedRevision !== undefined)
      if (current === undefined) throw this.conflict(key, 'it no longer exists')
      if (expectedRevision !== undefined && current !== expectedRevision) throw this.conflict(key, 'another process changed it')
      await removeDurably(file)
    })
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    return this.readRecord(key)
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = []
    const walk = (dir: string, keyPrefix: string) => {
      let entries
      try {
        entries = readdirSync(dir, {withFileTypes: true})
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return
        throw error
      }

      for (const entry of entries) {
        if (entry.isDirectory() && SEGMENT.test(entry.name)) walk(join(dir, entry.name), `${keyPrefix}${entry.name}/`)
        else if (entry.isFile() && entry.name.endsWith('.json') && SEGMENT.test(entry.name.slice(0, -5))) {
          keys.push(`${keyPrefix}${entry.name.slice(0, -5)}`)
        }
      }
    }

    const base = prefix.replace(/\/$/, '')
    walk(base === '' ? this.location : join(this.location, ...this.segments(base)), base === '' ? '' : `${base}/`)
    return keys.sort()
  }

  async put(key: string, value: Record<string, unknown>, expectedRevision?: null | number): Promise<number> {
    const file = this.where(key)
    return this.locked(async () => {
      ensurePrivateDir(join(file, '..'))
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

  where(key: string): string {
    return join(this.location, ...this.segments(key)) + '.json'
  }

  private conflict(key: string, why: string, code = 'CONFLICT'): KeyflowError {
    return new KeyflowError(`Cannot write ${key}: ${why}.`, {
      code,
      exit: ExitCode.CONFLICT,
      fix: code === 'ALREADY_EXISTS' ? 'Choose another name, or pass --overwrite to replace it.' : 'Read it again and retry.',
      where: this.where(key),
    })
  }

  /** Runs a write under the store lock; a failing disk is a clear error, not a crash. */
  private async locked<T>(task: () => Promise<T>): Promise<T> {
    try {
      ensurePrivateDir(this.location)
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

  /** The record at `key`, read synchronously so a compare-and-swap can use it under the lock. */
  private readRecord(key: string): StoredRecord | undefined {
    const file = this.where(key)
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined
      throw new KeyflowError(`Cannot read the block store file: ${describeFsError(error)}.`, {
        code: 'STORE_UNREADABLE',
        exit: ExitCode.INTEGRITY,
        fix: 'Check the file and its permissions.',
        where: file,
      })
    }

    const {revision, ...rest} = parseRecord(text, file)
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
