import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {repeatableFlag} from '../lib/cli/repeatable-flag.js'
import {resolverFlags, storeFlags} from '../lib/cli/resolver-flags.js'
import {sqlCommand} from '../lib/snowflake/sql-command.js'
import {SQL_FORMATS} from '../lib/snowflake/sql.js'

export default class Sql extends BaseCommand {
  static args = {
    sql: Args.string({description: 'The statement to run (or use --file, or stdin).'}),
  }
  static description = `Run SQL on Snowflake and stream the rows.

Rows are written as they arrive: a table for people, or --format json|ndjson|csv for scripts. With --rows FILE, the statement runs once per row of a JSON array or NDJSON file (executeMany, in batches) and the rows affected are reported. The password or token never appears in output, logs or errors. Ctrl-C, SIGTERM or SIGHUP cancels the running statement on Snowflake before keyflow exits (130, 143, 129).`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --block snowflake-connector/prod "SELECT * FROM customers"', description: 'Print a table'},
    {command: '<%= config.bin %> <%= command.id %> --block snowflake-connector/prod --format ndjson "SELECT * FROM t WHERE id = ?" --binds-json \'[42]\'', description: 'Stream NDJSON with a numeric bind'},
    {command: '<%= config.bin %> <%= command.id %> --block snowflake-connector/prod --rows customers.ndjson "INSERT INTO customers (name, address) VALUES (?, ?)"', description: 'Batch insert'},
  ]
  static flags = {
    ...resolverFlags,
    ...storeFlags,
    bind: repeatableFlag({description: 'A positional bind value (text), for ? or :1 placeholders; repeat in order.'}),
    'binds-json': Flags.string({description: 'All bind values as a JSON array, for numbers, booleans and nulls.'}),
    block: Flags.string({description: 'The snowflake-connector block to connect with, TYPE/NAME (keyflow block create snowflake-connector NAME ...).'}),
    file: Flags.string({description: 'Read the SQL from this file.'}),
    format: Flags.option({char: 'f', default: 'table' as const, description: 'Output format.', options: SQL_FORMATS})(),
    rows: Flags.string({description: 'Batch insert: a JSON array or NDJSON file of rows, each an array of values.'}),
  }

  /** Query rows are streamed to stdout as they arrive; only batch inserts have a JSON summary. */
  logJson(json: unknown): void {
    if (json !== undefined) super.logJson(json)
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Sql)
    const result = await sqlCommand(this.invocation(flags), {
      binds: flags.bind,
      bindsJson: flags['binds-json'],
      connection: {block: flags.block},
      format: this.jsonEnabled() ? 'json' : flags.format,
      out: process.stdout,
      rowsFile: flags.rows,
      sql: args.sql,
      sqlFile: flags.file,
      stdin: process.stdin,
    })
    if (result.kind === 'query') return undefined
    this.writeData(`${result.rowsAffected} row${result.rowsAffected === 1 ? '' : 's'} affected.\n`)
    return {batches: result.batches, rows: result.rows, rowsAffected: result.rowsAffected}
  }
}
