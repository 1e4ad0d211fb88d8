import {ExitCode, KeyflowError} from '../../errors.js'

/**
 * Where block documents and registered block types are kept. Commands and the library never
 * see files or secrets: they go through this interface. Two implementations: the embedded
 * local store (local.ts) and the team store on AWS Secrets Manager (aws.ts).
 *
 * Keys are slash-separated names, e.g. `documents/snowflake-credentials/prod` or
 * `types/my-type`. Every record carries a revision, a number the store increases on each
 * write; writers pass the revision they read (compare-and-swap), so a concurrent change is a
 * CONFLICT for the caller to retry, never a silent lost update.
 */

export interface StoredRecord {
  /** The id of the master key whose MAC authenticated the record (authenticated.ts); absent when written before keyflow authenticated records. */
  keyId?: string
  /** The store's revision of this record; pass it back to put/delete. */
  revision: number
  value: Record<string, unknown>
}

/** A compare-and-swap that failed, or a create of a name in use (ALREADY_EXISTS), as every store reports it. */
export function storeConflict(key: string, why: string, where: string, code = 'CONFLICT'): KeyflowError {
  return new KeyflowError(`Cannot write ${key}: ${why}.`, {
    code,
    exit: ExitCode.CONFLICT,
    fix: code === 'ALREADY_EXISTS' ? 'Choose another name, or pass --overwrite to replace it.' : 'Read it again and retry.',
    where,
  })
}

/** The code of a store operation that must ask a remote store, refused under --offline. */
export const OFFLINE_NEEDS_AWS = 'OFFLINE_NEEDS_AWS'

/** One key of a batched read: the record, undefined when absent, or why it could not be read. */
export interface ReadResult {
  error?: Error
  key: string
  record?: StoredRecord
}

/** A key found by scan, with the summary written with its last put when the store keeps one. */
export interface ScannedRecord {
  key: string
  revision?: number
  summary?: Record<string, unknown>
}

export interface DeleteOptions {
  /** aws: days before a scheduled deletion happens (7-30); 0 deletes at once. local: ignored. */
  recoveryDays?: number
}

export interface DeleteOutcome {
  /** When the deletion will happen, if it was scheduled rather than done. */
  deletionDate?: string
}

export interface PutOptions {
  /**
   * Runs where nothing else can write, just before the write, and may refuse it by throwing.
   * local: under the store's lock. aws: just before the conditional write; the write itself
   * still fails if another writer got in between (the compare-and-swap on the revision).
   */
  guard?: () => void
  /** Small metadata that scan() returns without reading the value (names, dates; never secrets). */
  summary?: Record<string, unknown>
}

export type StoreKind = 'aws' | 'local'

export interface BlockStore {
  delete(key: string, expectedRevision?: number, options?: DeleteOptions): Promise<DeleteOutcome>
  /**
   * Who encrypts literal secret values at rest: `keyring`, keyflow with the master key before
   * writing (the local store); `store`, the store itself (KMS for Secrets Manager), so the
   * values are written as they are and any machine allowed to read the store can use them.
   */
  readonly encryption: 'keyring' | 'store'
  /**
   * Runs `task` while no writer can write (it must not write itself), e.g. to prove a state and
   * act on it. aws: Secrets Manager has no lock; it runs `task` as is, and every write there is
   * a compare-and-swap on the revision instead (aws.ts).
   */
  exclusive<T>(task: () => Promise<T>): Promise<T>
  /** undefined when absent; throws a KeyflowError (INTEGRITY) naming the record when it is corrupt. */
  get(key: string): Promise<StoredRecord | undefined>
  /** Many records at once, in as few round trips as the store allows; results in the order of `keys`. */
  getMany(keys: string[]): Promise<ReadResult[]>
  readonly kind: StoreKind
  /** Keys directly or indirectly under `prefix` (e.g. `documents/`), sorted. */
  list(prefix: string): Promise<string[]>
  /** Where the store lives, for messages: a directory, a region and prefix. */
  readonly location: string
  /**
   * Writes `value`. `expectedRevision`: the revision read (the record must still have it),
   * null (the record must not exist yet), or undefined (unconditional, e.g. replacing a
   * corrupt record). Returns the new revision.
   */
  put(key: string, value: Record<string, unknown>, expectedRevision?: null | number, options?: PutOptions): Promise<number>
  /** Cancels a scheduled deletion (aws); returns the revision the record has again. */
  restore?(key: string): Promise<number>
  /** Keys under `prefix` with their summaries where kept (without reading values), sorted by key. */
  scan(prefix: string): Promise<ScannedRecord[]>
  /** Where a record lives, for messages. */
  where(key: string): string
}
