import type {Readable} from 'node:stream'
import type {Connection, DataType, RowStatement} from 'snowflake-sdk'

import {setTimeout as sleep} from 'node:timers/promises'

import {isKeyflowError, KeyflowError} from '../errors.js'
import {driverOptions, secretValues, SnowflakeConnectorConfig, validateConfig} from './config.js'
import {loadSnowflake} from './driver.js'
import {connectionError, interrupted, isCancelledBySnowflake, loginError, sessionDropped, statementError} from './errors.js'
import {Bind, driverBatch, driverStatement, NamedParams, Params} from './pyformat.js'

/**
 * Over 300 lines on purpose: this is one class, prefect-snowflake's SnowflakeConnector, whose
 * connection, cursor and statement life cycles share its private state; split, they would
 * need that state passed around.
 *
 * prefect-snowflake's SnowflakeConnector in TypeScript. Prefect's semantics:
 * - the connection opens lazily on first use, is reused, and closes on close(), on
 *   `await using` disposal, and when the process is about to exit;
 * - fetchOne/fetchMany/fetchAll keep one cursor per distinct (SQL, parameters): calling one
 *   again continues where the last call stopped; an exhausted cursor yields [] (fetchOne:
 *   undefined) until resetCursors() or close();
 * - execute/executeMany always run the statement anew.
 * Rows stream from the driver (streamRows, with backpressure), so memory stays bounded by the
 * driver's chunk prefetch whatever the size of a result.
 *
 * Statements run asynchronously on Snowflake (asyncExec) and keyflow polls their status, at
 * most `poll_frequency_s` seconds apart (the first checks come sooner, so quick statements
 * return quickly). A stream (`keyflow sql`) asks for its result at once instead: Snowflake
 * answers that request when the statement is done (and the driver asks again while it runs),
 * so the rows start as soon as there are any, not up to a polling interval later.
 *
 * interrupt() is what snowflake-connector-python does on KeyboardInterrupt: it asks Snowflake
 * to cancel each statement still running (the driver's abort-request, by query id or, before
 * Snowflake has answered the submission, by request id), and no statement starts after it.
 */

export type {Bind, NamedParams, Params} from './pyformat.js'
/** Positional (`?`, `:1`) or named (`%(name)s`, Prefect's pyformat) parameters. */
export type AnyParams = NamedParams | Params
export type Row = unknown[]
/** A row keyed by column name: Prefect's cursor_type=DictCursor (a later column of the same name wins). */
export type DictRow = Record<string, unknown>

/** How fetch* return rows: arrays in column order (the default), or objects ('dict', Prefect's DictCursor). */
export interface FetchOptions {
  cursorType?: 'dict' | 'tuple'
}

export interface ExecuteResult {
  queryId: string
  /** Rows inserted, updated or deleted, for DML; undefined otherwise. */
  rowsAffected?: number
}

/** A statement's result being read: its columns, then rows one at a time (or in the batches the driver has buffered). */
export interface ResultStream extends AsyncIterable<Row> {
  /** The rows in the batches the driver has buffered, in order: one wait per batch rather than per row. */
  batches(): AsyncIterable<Row[]>
  columns: string[]
  queryId: string
}

/** A cancel interrupt() asked for: the statement's query id, and Snowflake's answer to come. */
export interface CancelRequest {
  /** Whether Snowflake confirmed the cancel: it answered the abort-request with success, or the statement failed as cancelled. */
  confirmed: Promise<boolean>
  /** Undefined while Snowflake has not answered the statement's submission with one (the cancel then names its request id). */
  readonly queryId: string | undefined
}

interface StatementRequest {
  binds?: Bind[][] | Params
  /** Types the driver returns as Snowflake-formatted text. */
  fetchAsString?: DataType[]
  /** The login's own statement (ALTER SESSION): not the user's, so interrupt() leaves it alone. */
  internal?: boolean
  sql: string
  streamResult: boolean
  /** How keyflow learns that the statement is done: by status polls (Prefect's way), or from the result request itself. */
  waitFor: 'result' | 'status'
}

class Cursor {
  private done = false
  private readonly iterator: AsyncIterator<Row>

  constructor(
    readonly stream: Readable,
    readonly columns: string[],
    readonly queryId: string,
  ) {
    this.iterator = stream[Symbol.asyncIterator]()
  }

  close(): void {
    this.done = true
    this.stream.destroy()
  }

  /** Calls `settled` once the rows are all read or the cursor is closed. */
  onSettled(settled: () => void): void {
    if (this.stream.closed) settled()
    else this.stream.once('close', settled)
  }

  async take(count: number): Promise<Row[]> {
    const rows: Row[] = []
    while (!this.done && rows.length < count) {
      // eslint-disable-next-line no-await-in-loop
      const next = await this.iterator.next()
      if (next.done) this.done = true
      else rows.push(next.value)
    }

    return rows
  }
}

/** Status polls start here and double up to poll_frequency_s, so quick statements return quickly. */
const FIRST_POLL_MS = 25

const open = new Set<SnowflakeConnector>()
let exitHookInstalled = false

/** Closes what the program left open; beforeExit allows the asynchronous logout. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('beforeExit', () => {
    for (const connector of open) connector.close().catch(() => {})
  })
}

export class SnowflakeConnector implements AsyncDisposable {
  /** For each statement interrupt() asked to cancel: its cancel's confirmation, for a failure that says it was cancelled. */
  readonly #cancelledBySnowflake = new Map<RowStatement, () => void>()
  // True private fields: console.log, util.inspect and JSON.stringify of a connector never show the credentials.
  readonly #config: SnowflakeConnectorConfig
  #connecting?: Promise<Connection>
  #interrupted = false
  /** The user's statements submitted and not done, or whose rows are still being read. */
  readonly #running = new Set<RowStatement>()
  readonly #secrets: string[]
  private readonly cursors = new Map<string, Promise<Cursor>>()

  constructor(config: SnowflakeConnectorConfig) {
    validateConfig(config)
    this.#config = config
    this.#secrets = secretValues(config.credentials)
  }

  private get where(): string {
    return `Snowflake account ${this.#config.credentials.account}`
  }

  /** Resets the cursors and logs out. Safe to call twice; a later call reconnects. */
  async close(): Promise<void> {
    await this.resetCursors()
    const connecting = this.#connecting
    this.#connecting = undefined
    open.delete(this)
    if (!connecting) return
    const connection = await connecting.catch(() => {})
    if (!connection?.isUp()) return
    await new Promise<void>((resolve) => {
      connection.destroy(() => resolve())
    })
  }

  /** Runs a statement anew and reports the rows it affected. */
  async execute(sql: string, params?: AnyParams): Promise<ExecuteResult> {
    const statement = await this.run(driverStatement(sql, params), {streamResult: false, waitFor: 'status'})
    return {queryId: statement.getQueryId(), rowsAffected: affected(statement)}
  }

  /** Runs one statement with many parameter rows (array binding: one round trip). */
  async executeMany(sql: string, seqOfParams: readonly AnyParams[]): Promise<ExecuteResult> {
    if (seqOfParams.length === 0) return {queryId: '', rowsAffected: 0}
    const statement = await this.run(driverBatch(sql, seqOfParams), {streamResult: false, waitFor: 'status'})
    return {queryId: statement.getQueryId(), rowsAffected: affected(statement)}
  }

  async fetchAll(sql: string, params?: AnyParams): Promise<Row[]>
  async fetchAll(sql: string, params: AnyParams | undefined, options: FetchOptions & {cursorType: 'dict'}): Promise<DictRow[]>
  async fetchAll(sql: string, params?: AnyParams, options?: FetchOptions): Promise<DictRow[] | Row[]> {
    return this.fetch(sql, params, Number.POSITIVE_INFINITY, options)
  }

  /** The next `size` rows of the cursor for (sql, params); [] once exhausted. No size, or 0, is fetch_size (Prefect's `size or fetch_size`). */
  async fetchMany(sql: string, params?: AnyParams, size?: number): Promise<Row[]>
  async fetchMany(sql: string, params: AnyParams | undefined, size: number | undefined, options: FetchOptions & {cursorType: 'dict'}): Promise<DictRow[]>
  async fetchMany(sql: string, params?: AnyParams, size?: number, options?: FetchOptions): Promise<DictRow[] | Row[]> {
    return this.fetch(sql, params, size || (this.#config.fetch_size ?? 1), options)
  }

  async fetchOne(sql: string, params?: AnyParams): Promise<Row | undefined>
  async fetchOne(sql: string, params: AnyParams | undefined, options: FetchOptions & {cursorType: 'dict'}): Promise<DictRow | undefined>
  async fetchOne(sql: string, params?: AnyParams, options?: FetchOptions): Promise<DictRow | Row | undefined> {
    const [row] = await this.fetch(sql, params, 1, options)
    return row
  }

  /** The open connection (snowflake-sdk's), or a new login when there is none or the session was dropped: Prefect's get_connection(). */
  async getConnection(): Promise<Connection> {
    const current = await this.#connecting?.catch(() => {})
    if (current?.isUp()) return current
    this.#connecting = this.login()
    this.#connecting.catch(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  /**
   * Asks Snowflake to cancel every statement of this connector that is running (submitted and
   * not done, or whose rows are still being read) and refuses to start any more: later
   * statements fail with SNOWFLAKE_INTERRUPTED, and so does a statement waiting for its
   * submission to be answered. Each cancel's `confirmed` resolves once Snowflake has answered
   * its abort-request, which the driver retries: bound the wait (keyflow sql gives it a few
   * seconds).
   */
  interrupt(): CancelRequest[] {
    this.#interrupted = true
    return [...this.#running].map((statement) => ({
      // Snowflake confirms a cancel twice, in either order: it answers the abort-request, and the
      // statement fails as cancelled. After that failure keyflow sql logs out, and the driver then
      // reports an abort still unanswered as an error: the failure must count on its own.
      confirmed: new Promise<boolean>((resolve) => {
        this.#cancelledBySnowflake.set(statement, () => resolve(true))
        statement.cancel((error) => resolve(!error))
      }),
      get queryId() {
        return statement.getQueryId() || undefined
      },
    }))
  }

  /** Forgets every cursor; the next fetch of the same query runs it again. */
  async resetCursors(): Promise<void> {
    const cursors = [...this.cursors.values()]
    this.cursors.clear()
    for (const cursor of await Promise.allSettled(cursors)) if (cursor.status === 'fulfilled') cursor.value.close()
  }

  /**
   * Runs a query and streams its rows (for `keyflow sql`); no cursor is kept. `fetchAsString`
   * returns those types as Snowflake formats them (e.g. dates as "2024-01-01").
   */
  async stream(sql: string, params?: AnyParams, fetchAsString?: DataType[]): Promise<ResultStream> {
    const cursor = await this.openCursor(sql, params, {fetchAsString, streamResult: true, waitFor: 'result'})
    const secrets = this.#secrets
    const {where} = this
    async function* batches(): AsyncGenerator<Row[]> {
      try {
        yield* readBatches(cursor.stream)
      } catch (error) {
        throw statementError(error, secrets, where)
      } finally {
        cursor.close()
      }
    }

    return {
      batches,
      columns: cursor.columns,
      queryId: cursor.queryId,
      async *[Symbol.asyncIterator]() {
        for await (const batch of batches()) yield* batch
      },
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** Reads from the cursor of (sql, params), opening it on first use; a cursor that fails is forgotten. */
  private async fetch(sql: string, params: AnyParams | undefined, count: number, options?: FetchOptions): Promise<DictRow[] | Row[]> {
    const key = JSON.stringify([sql, params ?? null])
    let cursor = this.cursors.get(key)
    if (!cursor) {
      cursor = this.openCursor(sql, params, {streamResult: true, waitFor: 'status'})
      this.cursors.set(key, cursor)
    }

    try {
      const open = await cursor
      const rows = await open.take(count)
      if (options?.cursorType !== 'dict') return rows
      return rows.map((row) => Object.fromEntries(open.columns.map((column, index) => [column, row[index]])))
    } catch (error) {
      if (this.cursors.get(key) === cursor) this.cursors.delete(key)
      throw isKeyflowError(error) ? error : statementError(error, this.#secrets, this.where)
    }
  }

  private async login(): Promise<Connection> {
    const sdk = await loadSnowflake()
    let connection: Connection
    try {
      connection = sdk.createConnection(driverOptions(this.#config))
    } catch (error) {
      throw connectionError(error, this.where)
    }

    // connectAsync resolves even when the login fails: the outcome comes through its callback.
    await new Promise<void>((resolve, reject) => {
      connection.connectAsync((error) => (error ? reject(loginError(error, this.where)) : resolve())).catch((error: unknown) => reject(loginError(error, this.where)))
    })

    open.add(this)
    installExitHook()
    if (this.#config.credentials.autocommit !== undefined) {
      await this.runOn(connection, {internal: true, sql: `ALTER SESSION SET AUTOCOMMIT = ${this.#config.credentials.autocommit ? 'TRUE' : 'FALSE'}`, streamResult: false, waitFor: 'status'})
    }

    return connection
  }

  private async openCursor(sql: string, params: AnyParams | undefined, request: Omit<StatementRequest, 'binds' | 'sql'>): Promise<Cursor> {
    const {settle, statement} = await this.runTracked(await this.getConnection(), {...driverStatement(sql, params), ...request})
    const columns = (statement.getColumns() ?? []).map((column) => column.getName())
    const cursor = new Cursor(statement.streamRows(), columns, statement.getQueryId())
    cursor.onSettled(settle)
    return cursor
  }

  private async run(statement: Pick<StatementRequest, 'binds' | 'sql'>, request: Omit<StatementRequest, 'binds' | 'sql'>): Promise<RowStatement> {
    return this.runOn(await this.getConnection(), {...statement, ...request})
  }

  /** Runs a statement to its result. */
  private async runOn(connection: Connection, request: StatementRequest): Promise<RowStatement> {
    const {settle, statement} = await this.runTracked(connection, request)
    settle()
    return statement
  }

  /**
   * Submits a statement and fetches its result; the statement counts as running (for
   * interrupt()) from its submission until `settle` is called, or until it fails.
   */
  private async runTracked(connection: Connection, {binds, fetchAsString, internal, sql, streamResult, waitFor}: StatementRequest): Promise<{settle: () => void; statement: RowStatement}> {
    if (this.#interrupted) throw interrupted(this.where)
    let submitted: RowStatement | undefined
    const settle = () => {
      if (!submitted) return
      this.#running.delete(submitted)
      this.#cancelledBySnowflake.delete(submitted)
    }

    const failed = (error: unknown): KeyflowError => {
      if (isKeyflowError(error)) return error
      if (submitted && isCancelledBySnowflake(error)) this.#cancelledBySnowflake.get(submitted)?.()
      return statementError(error, this.#secrets, this.where)
    }

    try {
      const queryId = await new Promise<string>((resolve, reject) => {
        submitted = connection.execute({
          asyncExec: true,
          binds: binds as Bind[],
          complete: (error, statement) => (error ? reject(error) : resolve(statement.getQueryId())),
          sqlText: sql,
        })
        if (!internal) this.#running.add(submitted)
      }).catch((error: unknown) => {
        throw failed(error)
      })
      // Interrupted while the submission was answered: interrupt() has already asked to cancel it.
      if (this.#interrupted) throw interrupted(this.where)
      // A session the server has dropped completes with neither error nor query id, and the connection goes down.
      if (!queryId) throw connection.isUp() ? connectionError(undefined, this.where) : sessionDropped(this.where)
      if (waitFor === 'status') {
        await this.untilDone(connection, queryId).catch((error: unknown) => {
          throw failed(error)
        })
      }

      const statement = await new Promise<RowStatement>((resolve, reject) => {
        connection.fetchResult({
          complete: (error, result) => (error ? reject(failed(error)) : resolve(result)),
          fetchAsString,
          queryId,
          rowMode: 'array',
          sqlText: sql,
          streamResult,
        })
      })
      return {settle, statement}
    } catch (error) {
      settle()
      throw error
    }
  }

  /** Polls the statement's status until it is no longer running: after FIRST_POLL_MS, then at doubling intervals up to poll_frequency_s. */
  private async untilDone(connection: Connection, queryId: string): Promise<void> {
    const pollMs = (this.#config.poll_frequency_s ?? 1) * 1000
    for (let wait = Math.min(FIRST_POLL_MS, pollMs); ; wait = Math.min(wait * 2, pollMs)) {
      if (this.#interrupted) throw interrupted(this.where)
      // eslint-disable-next-line no-await-in-loop
      if (!connection.isStillRunning((await connection.getQueryStatusThrowIfError(queryId)) as never)) return
      // eslint-disable-next-line no-await-in-loop
      await sleep(wait)
    }
  }
}

/**
 * The rows the stream has buffered, a batch at a time: one wait per batch rather than per row.
 * @yields each non-empty batch of rows, in order
 */
async function* readBatches(stream: Readable): AsyncGenerator<Row[]> {
  // Errors are read from stream.errored; without a listener an 'error' between reads would crash the process.
  stream.on('error', () => {})
  for (;;) {
    const batch: Row[] = []
    for (let row = stream.read(); row !== null; row = stream.read()) batch.push(row as Row)
    if (batch.length > 0) yield batch
    else if (stream.readableEnded || stream.destroyed) {
      if (stream.errored) throw stream.errored
      return
    } else {
      // eslint-disable-next-line no-await-in-loop
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off('readable', done)
          stream.off('end', done)
          stream.off('error', done)
          stream.off('close', done)
          resolve()
        }

        stream.on('readable', done)
        stream.on('end', done)
        stream.on('error', done)
        stream.on('close', done)
      })
    }
  }
}

function affected(statement: RowStatement): number | undefined {
  const count = statement.getNumUpdatedRows()
  return typeof count === 'number' && count >= 0 ? count : undefined
}

/**
 * Prefect's snowflake_multiquery: runs `queries` in order on the connector's one connection and
 * returns their query ids. With `asTransaction`, inside BEGIN ... COMMIT, and a failure rolls
 * back everything before it is rethrown.
 */
export async function snowflakeMultiquery(connector: SnowflakeConnector, queries: readonly string[], options: {asTransaction?: boolean; params?: AnyParams} = {}): Promise<string[]> {
  const ids: string[] = []
  if (options.asTransaction) await connector.execute('BEGIN TRANSACTION')
  try {
    for (const query of queries) {
      // eslint-disable-next-line no-await-in-loop -- in order, on one session
      ids.push((await connector.execute(query, options.params)).queryId)
    }

    if (options.asTransaction) await connector.execute('COMMIT')
  } catch (error) {
    // The statement's own error is the one to report; a failed rollback ends with the session anyway.
    if (options.asTransaction) await connector.execute('ROLLBACK').catch(() => {})
    throw error
  }

  return ids
}
