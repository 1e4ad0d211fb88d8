import type {Writable} from 'node:stream'

import {getHeapStatistics} from 'node:v8'
import {Worker} from 'node:worker_threads'

import {ExitCode, KeyflowError} from '../errors.js'
import {SnowflakeConnectorConfig} from './config.js'
import {AnyParams} from './connector.js'
import {CancelledStatement, Cancelling} from './interrupt.js'
import {RunSqlResult, SqlFormat} from './sql.js'

/**
 * `keyflow sql`'s query runs in a worker thread (src/lib/snowflake/sql-thread-entry.ts, bundled
 * as dist/sql-thread.cjs), for two reasons (docs/snowflake.md "Speed"):
 * - memory: each result chunk the driver downloads is a string too large for V8's young
 *   generation, and each chunk's rows outlive a few young collections, so a stream keeps
 *   filling the old generation with garbage. After each full collection V8 lets it grow to
 *   up to 4x what is live when the heap's limit is 2 GiB or more (Node's default on a machine
 *   with 8 GiB of RAM or more), less on smaller heaps: 1.6x at 1 GiB. In-process a 1M-row
 *   stream reached ~300 MB of RSS where 100k rows took ~185 MB. A worker's heap sizes are
 *   options of its own (resourceLimits, a documented API; no V8 or Node flag is changed): an
 *   old generation of 1 GiB (what Node gives a machine with 4 GiB of RAM; the stream holds a
 *   few chunks) and a young one of 8 MB keep the RSS within about 10% of its 100k-row level,
 *   for more frequent collections (about a sixth more CPU on a 1M-row stream).
 * - start-up: the thread loads snowflake-sdk (about 0.3 s) while this thread resolves
 *   the connector block (decryption, schema checks, references).
 * The thread formats the rows into a few buffers that move between the threads (transferred,
 * not copied): each is written to `out` here and, once written, goes back to be filled again.
 * So the output has backpressure, and no thread makes garbage of it. A closed pipe (EPIPE)
 * here stops the query there, which then logs out, as it does in-process. A signal asks the
 * thread to cancel its statement (interrupt.ts): the thread's connector sends the abort-request
 * and reports the statement's query id at once, then Snowflake's answer.
 */

export interface SqlJob {
  binds?: AnyParams
  config: SnowflakeConnectorConfig
  format: SqlFormat
  sql: string
}

/** What the thread reports: the result, or the error with its cause's name, code and stack (never a message of the driver's). */
export type SqlReply = {error: ErrorCopy} | {result: RunSqlResult}

export interface ErrorCopy {
  cause?: {code?: string; name: string; stack?: string}
  keyflow?: {code: string; details: string[]; exit: number; fix?: string; message: string; where?: string}
}

/** Messages to the thread: the job; a buffer of output written, back to be filled again; the reader went away; a signal came. */
export type ToSqlThread = {bytes: Uint8Array; type: 'written'} | {job: SqlJob; type: 'run'} | {type: 'cancel'} | {type: 'closed'}
/** Messages from the thread: output, the first `length` bytes of a buffer; then the reply. After a cancel: what it names, then Snowflake's answers. */
export type FromSqlThread =
  | {bytes: Uint8Array; length: number; type: 'rows'}
  | {queryIds: Array<string | undefined>; type: 'cancelling'}
  | {reply: SqlReply; type: 'reply'}
  | {statements: CancelledStatement[]; type: 'cancelled'}

const MB = 1024 * 1024
const OLD_GENERATION_MB = 1024
const YOUNG_GENERATION_MB = 8

function rebuildError(copy: ErrorCopy): Error {
  const cause = copy.cause && Object.assign(new Error('(in the sql thread)'), copy.cause)
  if (!copy.keyflow) return cause ?? new Error('(in the sql thread)')
  const {code, details, exit, fix, message, where} = copy.keyflow
  return new KeyflowError(message, {cause, code, details, exit: exit as KeyflowError['exit'], fix, where})
}

function outOfMemory(limitMb: number): KeyflowError {
  return new KeyflowError(`The query's rows needed more memory than keyflow sql allows them (${limitMb} MB).`, {
    code: 'SNOWFLAKE_OUT_OF_MEMORY',
    exit: ExitCode.SNOWFLAKE,
    fix: 'Select fewer or narrower columns, or read the result in parts (a WHERE on a key range, or LIMIT and OFFSET).',
  })
}

/** The bundle `npm run build` makes (dist/sql-thread.cjs); the TypeScript entry itself under bin/dev.mjs, whose loader the thread inherits. */
function threadEntry(): URL {
  const own = import.meta.url
  return own.endsWith('.ts') ? new URL('sql-thread-entry.ts', own) : new URL('../../sql-thread.cjs', own)
}

/** The thread, started before the connector's config is known so that it loads the driver meanwhile. */
export class SqlThread implements AsyncDisposable {
  private cancelReplies?: {answers: (statements: CancelledStatement[]) => void; queryIds: (ids: Array<string | undefined>) => void}
  private closed = false
  // Never more than this thread may have (a smaller machine's default).
  private readonly heapLimitMb = Math.min(OLD_GENERATION_MB, Math.floor(getHeapStatistics().heap_size_limit / MB))
  private out?: Writable
  /** A reader that went away (EPIPE) stops the query; other errors are the stream's to report (output/emit.ts guardOutput). */
  private readonly readerGone = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' || this.closed) return
    this.closed = true
    this.send({type: 'closed'})
  }
  private readonly reply: Promise<SqlReply>
  private readonly worker: Worker

  constructor() {
    this.worker = new Worker(threadEntry(), {
      resourceLimits: {maxOldGenerationSizeMb: this.heapLimitMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB},
    })
    this.reply = new Promise<SqlReply>((resolve, reject) => {
      this.worker.on('message', (message: FromSqlThread) => {
        switch (message.type) {
          case 'cancelled': {
            this.cancelReplies?.answers(message.statements)
            break
          }

          case 'cancelling': {
            this.cancelReplies?.queryIds(message.queryIds)
            break
          }

          case 'reply': {
            resolve(message.reply)
            break
          }

          case 'rows': {
            this.write(message.bytes, message.length)
            break
          }
        }
      })
      this.worker.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? outOfMemory(this.heapLimitMb) : error))
      this.worker.once('exit', () => reject(new Error('The sql thread exited without a result.')))
    })
    // Until run() asks for the reply, a failure (e.g. no driver) waits there, unreported.
    this.reply.catch(() => {})
  }

  /** Asks the thread to cancel its statement (its connector's interrupt()); the answers come from the thread. */
  cancel(): Cancelling {
    let answers!: (statements: CancelledStatement[]) => void
    let queryIds!: (ids: Array<string | undefined>) => void
    const cancelling: Cancelling = {
      answers: new Promise((resolve) => {
        answers = resolve
      }),
      queryIds: new Promise((resolve) => {
        queryIds = resolve
      }),
    }
    this.cancelReplies = {answers, queryIds}
    this.send({type: 'cancel'})
    return cancelling
  }

  /** Runs the query and writes its rows to `out`; every row has been written to `out` when this resolves. */
  async run(job: SqlJob, out: Writable): Promise<RunSqlResult> {
    this.out = out
    out.on('error', this.readerGone)
    try {
      this.send({job, type: 'run'})
      const reply = await this.reply
      if ('error' in reply) throw rebuildError(reply.error)
      return reply.result
    } finally {
      // The thread may still hold the driver's sockets. After a cancel, the statement's failure
      // can come back before Snowflake's answer to the abort: the thread lives on to send that
      // answer, and interrupt.ts ends keyflow once it has it (or gives up waiting).
      if (!this.cancelReplies) await this.worker.terminate()
      out.off('error', this.readerGone)
    }
  }

  /** Ends the thread, used or not (e.g. the block could not be loaded). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.worker.terminate()
  }

  private send(message: ToSqlThread, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer)
  }

  private write(bytes: Uint8Array, length: number): void {
    if (this.closed) return
    // Back only once written: a stream may still be reading the bytes until its callback.
    this.out!.write(bytes.subarray(0, length), () => this.send({bytes, type: 'written'}, [bytes.buffer as ArrayBuffer]))
  }
}
