import {Writable} from 'node:stream'
import {parentPort} from 'node:worker_threads'

import {isKeyflowError} from '../errors.js'
import {SnowflakeConnector} from './connector.js'
import {loadSnowflake} from './driver.js'
import {cancellingOf} from './interrupt.js'
import {ErrorCopy, FromSqlThread, SqlJob, SqlReply, ToSqlThread} from './sql-thread.js'
import {runSql} from './sql.js'

/**
 * The sql thread (src/lib/snowflake/sql-thread.ts says why there is one): loads the driver at
 * once, then runs the one query it is sent and sends its output, in pieces, to be written.
 */

/** Buffers on their way to be written or being written, at most: enough to keep both threads busy. */
const IN_FLIGHT = 4
/** A buffer's size: sql.ts hands on its output in pieces of 64K characters and a batch of rows. */
const PIECE_BYTES = 256 * 1024

function copyError(error: unknown): ErrorCopy {
  const keyflow = isKeyflowError(error) ? error : undefined
  const cause = keyflow ? keyflow.cause : error
  return {
    cause: cause instanceof Error ? {code: (cause as NodeJS.ErrnoException).code, name: cause.name, stack: cause.stack} : undefined,
    keyflow: keyflow && {code: keyflow.code, details: keyflow.details, exit: keyflow.exit, fix: keyflow.fix, message: keyflow.message, where: keyflow.where},
  }
}

const port = parentPort!
const spare: Buffer[] = []
let inFlight = 0
let waiting: (() => void) | undefined
/** The job's connector, for a cancel. */
let connector: SnowflakeConnector | undefined

/**
 * The output, sent to the other side in buffers that come back once written (a piece larger
 * than one gets a buffer of its own, dropped when it comes back).
 */
const output = new Writable({
  decodeStrings: false,
  write(text: string, _encoding, callback) {
    const size = Buffer.byteLength(text)
    const send = () => {
      inFlight++
      const buffer = size <= PIECE_BYTES ? (spare.pop() ?? Buffer.allocUnsafeSlow(PIECE_BYTES)) : Buffer.allocUnsafeSlow(size)
      const message: FromSqlThread = {bytes: buffer, length: buffer.write(text), type: 'rows'}
      port.postMessage(message, [buffer.buffer as ArrayBuffer])
      callback()
    }

    if (inFlight < IN_FLIGHT) send()
    else waiting = send
  },
})

async function run(job: SqlJob): Promise<SqlReply> {
  try {
    await using jobConnector = new SnowflakeConnector(job.config)
    connector = jobConnector
    return {result: await runSql(jobConnector, {binds: job.binds, format: job.format, out: output, sql: job.sql})}
  } catch (error) {
    return {error: copyError(error)}
  }
}

// A failure to load (no driver) is reported when the connector logs in, with the same error.
// eslint-disable-next-line unicorn/prefer-top-level-await -- a CommonJS bundle has none, and the load must not hold up the job
loadSnowflake().catch(() => {})
port.on('message', async (message: ToSqlThread) => {
  switch (message.type) {
    case 'cancel': {
      const cancelling = cancellingOf(connector?.interrupt() ?? [])
      port.postMessage({queryIds: await cancelling.queryIds, type: 'cancelling'} satisfies FromSqlThread)
      port.postMessage({statements: await cancelling.answers, type: 'cancelled'} satisfies FromSqlThread)
      break
    }

    case 'closed': {
      // The reader went away on the other side: the output ends as it does on a broken pipe.
      output.destroy(Object.assign(new Error('The reader of the rows went away.'), {code: 'EPIPE'}))
      break
    }

    case 'run': {
      const reply = await run(message.job)
      // Every piece is written on the other side before the reply: it ends this thread when it has it.
      await new Promise<void>((resolve) => {
        output.end(() => resolve())
      })
      port.postMessage({reply, type: 'reply'} satisfies FromSqlThread)
      break
    }

    case 'written': {
      inFlight--
      if (message.bytes.byteLength === PIECE_BYTES) spare.push(Buffer.from(message.bytes.buffer))
      const next = waiting
      waiting = undefined
      next?.()
      break
    }
  }
})
