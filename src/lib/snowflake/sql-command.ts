import type {Writable} from 'node:stream'

import {readFile} from 'node:fs/promises'

import {describeFsError, ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {parseJsonText} from '../util/json.js'
import {SnowflakeConnectorConfig} from './config.js'
import {AnyParams, Bind, SnowflakeConnector} from './connector.js'
import {cancellingOf, StatementInterrupts} from './interrupt.js'
import {SqlThread} from './sql-thread.js'
import {BatchInsertResult, runBatchInsert, RunSqlResult, SqlFormat} from './sql.js'

/**
 * `keyflow sql`: where the SQL, the binds and the connection come from, then one run: a query
 * in the sql thread (sql-thread.ts), a batch insert here. The connection comes from a
 * snowflake-connector block (`--block snowflake-connector/NAME`).
 */

export interface SqlCommandInput {
  binds?: string[]
  bindsJson?: string
  /** A snowflake-connector block (`--block`), or a config the caller already has. */
  connection: {block: string | undefined} | {config: SnowflakeConnectorConfig}
  format: SqlFormat
  out: Writable
  /** A rows file for a batch insert (executeMany). */
  rowsFile?: string
  sql?: string
  sqlFile?: string
  stdin: NodeJS.ReadableStream & {isTTY?: boolean}
}

export type SqlCommandResult = (BatchInsertResult & {kind: 'insert'}) | (RunSqlResult & {kind: 'query'})

function usage(message: string, fix: string, where?: string): KeyflowError {
  return new KeyflowError(message, {code: 'USAGE', exit: ExitCode.USAGE, fix, where})
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const part of stdin) text += part.toString()
  return text
}

async function sqlText(input: SqlCommandInput): Promise<string> {
  if (input.sql !== undefined && input.sqlFile !== undefined) throw usage('Give the SQL either as an argument or with --file, not both.', 'Drop one of them.')
  let text: string
  if (input.sql !== undefined) text = input.sql
  else if (input.sqlFile === undefined) {
    if (input.stdin.isTTY) throw usage('No SQL given.', 'Pass the SQL as an argument, with --file FILE, or on stdin.')
    text = await readStdin(input.stdin)
  } else {
    try {
      text = await readFile(input.sqlFile, 'utf8')
    } catch (error) {
      throw new KeyflowError(`Cannot read the SQL file: ${describeFsError(error)}.`, {code: 'FILE_UNREADABLE', exit: ExitCode.NOT_FOUND, where: input.sqlFile})
    }
  }

  if (text.trim() === '') throw usage('The SQL is empty.', 'Give a statement to run.')
  return text
}

const isBind = (value: unknown): value is Bind => value === null || ['boolean', 'number', 'string'].includes(typeof value)

/**
 * Positional binds for ? and :1, or, when the SQL has %(name)s placeholders (Prefect's
 * pyformat), named ones: --bind name=value, or --binds-json '{"name": ...}'.
 */
function bindsOf(input: SqlCommandInput, sql: string): AnyParams | undefined {
  const named = /%\(/.test(sql)
  if (input.bindsJson !== undefined) {
    if (input.binds?.length) throw usage('Give binds either with --bind or with --binds-json, not both.', 'Drop one of them.')
    const parsed = parseJsonText(input.bindsJson, '--binds-json', '--binds-json value')
    const values = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null ? Object.values(parsed) : undefined
    if (!values?.every((value) => isBind(value))) {
      throw usage('--binds-json must be a JSON array (or, for %(name)s placeholders, an object) of strings, numbers, booleans or nulls.', 'E.g. --binds-json \'[42, "x", null]\' or \'{"id": 42}\'.', '--binds-json')
    }

    return parsed as AnyParams
  }

  if (!input.binds?.length) return undefined
  if (!named) return input.binds
  const entries = input.binds.map((bind) => {
    const equals = bind.indexOf('=')
    if (equals <= 0) throw usage('With %(name)s placeholders, each --bind is name=value.', 'E.g. --bind name=Marvin.', '--bind')
    return [bind.slice(0, equals), bind.slice(equals + 1)] as const
  })
  return Object.fromEntries(entries)
}

/**
 * The connector config of a `snowflake-connector` block, nested credentials and references
 * (e.g. a password kept in AWS Secrets Manager) resolved. Connection settings live in the
 * encrypted block store, never in a plain file a password could be left in.
 */
async function loadConnection(invocation: Invocation, address: string): Promise<SnowflakeConnectorConfig> {
  const {parseBlockAddress} = await import('../block/names.js')
  const {name, type} = parseBlockAddress(address)
  if (type !== 'snowflake-connector') {
    throw usage(`Block ${address} is a ${type} block, not a snowflake-connector.`, 'Name a snowflake-connector block: --block snowflake-connector/NAME (keyflow block ls --type snowflake-connector).')
  }

  const {resolveBlock} = await import('../block/documents/load.js')
  return (await resolveBlock(invocation, `snowflake-connector/${name}`)).data as unknown as SnowflakeConnectorConfig
}

export async function sqlCommand(invocation: Invocation, input: SqlCommandInput): Promise<SqlCommandResult> {
  if ('block' in input.connection && !input.connection.block) {
    throw usage(
      'keyflow sql needs a connector: --block snowflake-connector/NAME.',
      '`keyflow block ls --type snowflake-connector` lists the saved ones; `keyflow block create snowflake-connector NAME --field credentials=CREDS --field database=DB --field schema=SCHEMA --field warehouse=WH` saves one (docs/snowflake.md).',
      '--block',
    )
  }

  // A signal from here on ends keyflow, cancelling the statement on Snowflake once there is one (interrupt.ts).
  using interrupts = new StatementInterrupts(invocation.output.json, input.out)
  // A query's thread starts first: it loads the driver while the SQL and the block are read here.
  await using thread = input.rowsFile === undefined ? new SqlThread() : undefined
  const sql = await sqlText(input)
  const binds = bindsOf(input, sql)
  if (input.rowsFile !== undefined && binds) throw usage('--rows cannot be combined with --bind: each row carries its own values.', 'Drop --bind.')
  const config = 'block' in input.connection ? await loadConnection(invocation, input.connection.block!) : input.connection.config
  if (thread) return {kind: 'query', ...(await interrupts.cancelling(() => thread.cancel(), async () => thread.run({binds, config, format: input.format, sql}, input.out)))}
  await using connector = new SnowflakeConnector(config)
  return {kind: 'insert', ...(await interrupts.cancelling(() => cancellingOf(connector.interrupt()), async () => runBatchInsert(connector, {file: input.rowsFile!, sql})))}
}
