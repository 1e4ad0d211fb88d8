import {parentPort} from 'node:worker_threads'

import {isKeyflowError} from '../errors.js'
import {SnowflakeConnector} from './connector.js'
import {loadSnowflake} from './driver.js'
import {ErrorCopy, SqlJob, SqlReply, SqlThreadMessage} from './sql-thread.js'
import {runSql} from './sql.js'

/**
 * The sql thread (src/lib/snowflake/sql-thread.ts says why there is one): loads the driver at
 * once, then runs the one query it is sent and writes its rows to this thread's stdout.
 */

function copyError(error: unknown): ErrorCopy {
  const keyflow = isKeyflowError(error) ? error : undefined
  const cause = keyflow ? keyflow.cause : error
  return {
    cause: cause instanceof Error ? {code: (cause as NodeJS.ErrnoException).code, name: cause.name, stack: cause.stack} : undefined,
    keyflow: keyflow && {code: keyflow.code, details: keyflow.details, exit: keyflow.exit, fix: keyflow.fix, message: keyflow.message, where: keyflow.where},
  }
}

async function run(job: SqlJob): Promise<SqlReply> {
  try {
    await using connector = new SnowflakeConnector(job.config)
    return {result: await runSql(connector, {binds: job.binds, format: job.format, out: process.stdout, sql: job.sql})}
  } catch (error) {
    return {error: copyError(error)}
  }
}

// A failure to load (no driver) is reported when the connector logs in, with the same error.
// eslint-disable-next-line unicorn/prefer-top-level-await -- a CommonJS bundle has none, and the load must not hold up the job
loadSnowflake().catch(() => {})
parentPort!.on('message', async (message: SqlThreadMessage) => {
  if (message.type === 'closed') {
    // The reader went away on the other side: the output ends as it does on a broken pipe.
    process.stdout.destroy(Object.assign(new Error('The reader of the rows went away.'), {code: 'EPIPE'}))
    return
  }

  const reply = await run(message.job)
  // Every row is handed on before the reply: the other side ends this thread when it has it.
  await new Promise<void>((resolve) => {
    process.stdout.write('', () => resolve())
  })
  parentPort!.postMessage(reply)
})
