/**
 * Where block documents and registered block types are kept. Commands and the library never
 * see files: they go through this interface, so a shared team store on an existing service
 * (a database row per key, an S3 object with a version id, ...) can be added later.
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

export interface BlockStore {
  delete(key: string, expectedRevision?: number): Promise<void>
  /** Runs `task` while no writer can write (it must not write itself), e.g. to prove a state and act on it. */
  exclusive<T>(task: () => Promise<T>): Promise<T>
  /** undefined when absent; throws a KeyflowError (INTEGRITY) naming the record when it is corrupt. */
  get(key: string): Promise<StoredRecord | undefined>
  /** Keys directly or indirectly under `prefix` (e.g. `documents/`), sorted. */
  list(prefix: string): Promise<string[]>
  /** Where the store lives, for messages: a directory, a URL. */
  readonly location: string
  /**
   * Writes `value`. `expectedRevision`: the revision read (the record must still have it),
   * null (the record must not exist yet), or undefined (unconditional, e.g. replacing a
   * corrupt record). `guard` runs where nothing else can write, just before the write, and may
   * refuse it by throwing. Returns the new revision.
   */
  put(key: string, value: Record<string, unknown>, expectedRevision?: null | number, guard?: () => void): Promise<number>
  /** Where a record lives, for messages. */
  where(key: string): string
}
