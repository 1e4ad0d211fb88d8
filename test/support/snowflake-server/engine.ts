import {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBPreparedStatement,
  DuckDBResult,
  DuckDBTypeId,
  DuckDBValue,
  JsonDuckDBValueConverter,
  StatementType,
} from '@duckdb/node-api'

import {Cell, ColumnMapping, mapColumn, RowType, variantColumn} from './types.js'

/**
 * Runs Snowflake statements on DuckDB. Results are read through DuckDB's streaming API a page at
 * a time, so a result of any size costs the server one page of rows plus one DuckDB chunk.
 */

export interface BindEntry {
  type: string
  value: (null | string)[] | null | string
}

export type Bindings = Record<string, BindEntry>

/** A failed statement, shaped like Snowflake's error body (code, SQL state, message). */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly sqlState: string,
  ) {
    super(message)
  }
}

export const STATEMENT_TYPE_ID = {
  DDL: 0x60_00,
  DELETE: 0x33_00,
  INSERT: 0x31_00,
  MERGE: 0x34_00,
  SELECT: 0x10_00,
  UPDATE: 0x32_00,
} as const

export interface Outcome {
  /** Produces the rows after the first page, `chunkRows` at a time; absent when all rows are inline. */
  pager?: Pager
  rows: Cell[][]
  rowtype: RowType[]
  statementTypeId: number
  total: number
}

/** Reads encoded rows from a streaming DuckDB result, page by page. */
export class Pager {
  private buffered: Cell[][] = []
  private done = false

  constructor(
    private readonly result: DuckDBResult,
    readonly mappings: ColumnMapping[],
    private owned?: DuckDBConnection,
  ) {}

  close(): void {
    this.done = true
    this.buffered = []
    this.release()
  }

  async take(count: number): Promise<Cell[][]> {
    while (this.buffered.length < count && !this.done) {
      // eslint-disable-next-line no-await-in-loop
      const chunk = await this.result.fetchChunk()
      if (!chunk || chunk.rowCount === 0) {
        this.done = true
        break
      }

      const columns = this.mappings.map((mapping, index) => ({
        json: mapping.needsJson ? chunk.convertColumnValues(index, JsonDuckDBValueConverter) : undefined,
        mapping,
        values: chunk.getColumnValues(index),
      }))
      for (let row = 0; row < chunk.rowCount; row++) {
        this.buffered.push(columns.map(({json, mapping, values}) => mapping.encode(values[row], json?.[row])))
      }
    }

    const page = this.buffered.splice(0, count)
    if (this.done && this.buffered.length === 0) this.release()
    return page
  }

  /** The result's own connection is closed once, when its rows are all out or the session ends. */
  private release(): void {
    this.owned?.closeSync()
    this.owned = undefined
  }
}

function mappingsOf(result: DuckDBResult): ColumnMapping[] {
  const mappings: ColumnMapping[] = []
  for (let index = 0; index < result.columnCount; index++) {
    const type = result.columnType(index)
    const name = result.columnName(index)
    if (type.alias === 'JSON') mappings.push(variantColumn(name))
    else {
      const decimal = type.typeId === DuckDBTypeId.DECIMAL ? (type as unknown as {scale: number; width: number}) : undefined
      mappings.push(mapColumn({name, scale: decimal?.scale, typeId: type.typeId, width: decimal?.width}))
    }
  }

  return mappings
}

/** Snowflake's `:1` placeholders become DuckDB's `$1`; string literals and quoted names are left alone. */
export function rewriteSql(sql: string): string {
  let out = ''
  let quote: string | undefined
  for (let index = 0; index < sql.length; index++) {
    const char = sql[index]
    if (quote) {
      if (char === quote) quote = undefined
      out += char
    } else if (char === "'" || char === '"') {
      quote = char
      out += char
    } else if (char === ':' && /\d/.test(sql[index + 1] ?? '') && sql[index - 1] !== ':') {
      out += '$'
    } else {
      out += char
    }
  }

  return out.trim().replace(/;+\s*$/, '')
}

function bindValue(type: string, value: null | string): DuckDBValue {
  if (value === null) return null
  switch (type) {
    case 'BOOLEAN': {
      return value === 'true' || value === 'TRUE' || value === '1'
    }

    case 'FIXED': {
      if (/^-?\d+$/.test(value)) {
        const number = Number(value)
        return Number.isSafeInteger(number) ? number : BigInt(value)
      }

      return Number(value)
    }

    case 'REAL': {
      return Number(value)
    }

    default: {
      return value
    }
  }
}

function bindRows(bindings: Bindings | undefined): DuckDBValue[][] | undefined {
  if (!bindings) return undefined
  const entries = Object.entries(bindings).sort(([a], [b]) => Number(a) - Number(b))
  const batch = entries.find(([, entry]) => Array.isArray(entry.value))
  if (!batch) return [entries.map(([, entry]) => bindValue(entry.type, entry.value as null | string))]
  const count = (batch[1].value as unknown[]).length
  return Array.from({length: count}, (_, row) =>
    entries.map(([, entry]) => bindValue(entry.type, Array.isArray(entry.value) ? (entry.value[row] ?? null) : entry.value)),
  )
}

const ERROR_CODES: [RegExp, string, string][] = [
  [/^Catalog Error/, '002003', '42S02'],
  [/^Parser Error/, '001003', '42000'],
  [/^Binder Error/, '000904', '42000'],
  [/^Conversion Error|^Invalid Input Error/, '100038', '22018'],
  [/^Constraint Error/, '100072', '22000'],
  [/^TransactionContext Error/, '000603', '25000'],
]

export function toSqlError(error: unknown): SqlError {
  const message = error instanceof Error ? error.message : String(error)
  const [, code, sqlState] = ERROR_CODES.find(([pattern]) => pattern.test(message)) ?? [undefined, '000603', 'XX000']
  return new SqlError(`SQL compilation error:\n${message}`, code, sqlState)
}

function dmlOutcome(kind: string, statementTypeId: number, changed: number): Outcome {
  return {
    rows: [[String(changed)]],
    rowtype: [{...mapColumn({name: `number of rows ${kind}`, typeId: DuckDBTypeId.BIGINT}).rowType, nullable: false}],
    statementTypeId,
    total: 1,
  }
}

function statusOutcome(): Outcome {
  return {
    rows: [['Statement executed successfully.']],
    rowtype: [mapColumn({name: 'status', typeId: DuckDBTypeId.VARCHAR}).rowType],
    statementTypeId: STATEMENT_TYPE_ID.DDL,
    total: 1,
  }
}

const DML: Partial<Record<StatementType, [string, number]>> = {
  [StatementType.DELETE]: ['deleted', STATEMENT_TYPE_ID.DELETE],
  [StatementType.INSERT]: ['inserted', STATEMENT_TYPE_ID.INSERT],
  [StatementType.MERGE_INTO]: ['merged', STATEMENT_TYPE_ID.MERGE],
  [StatementType.UPDATE]: ['updated', STATEMENT_TYPE_ID.UPDATE],
}

export class Engine {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async create(): Promise<Engine> {
    return new Engine(await DuckDBInstance.create(':memory:'))
  }

  close(): void {
    this.instance.closeSync()
  }

  async connect(): Promise<DuckDBConnection> {
    return this.instance.connect()
  }

  /**
   * Runs one statement. `chunkRows` rows at most come back inline; a larger SELECT is re-run on
   * a connection of its own so its rows can be paged out later while the session runs other
   * statements (DuckDB allows one open stream per connection). That connection sees committed
   * data only: a documented limit of the test server.
   */
  async run(session: DuckDBConnection, sqlText: string, bindings: Bindings | undefined, chunkRows: number): Promise<Outcome> {
    const sql = rewriteSql(sqlText)
    // Session parameters (AUTOCOMMIT, TIMEZONE, ...) have no DuckDB counterpart.
    if (/^alter\s+session\s/i.test(sql)) return statusOutcome()
    const rows = bindRows(bindings)
    let prepared: DuckDBPreparedStatement
    try {
      prepared = await session.prepare(sql)
    } catch (error) {
      throw toSqlError(error)
    }

    try {
      if (rows && rows.length > 1) return await this.runBatch(prepared, rows)
      if (rows) prepared.bind(rows[0])
      const dml = DML[prepared.statementType]
      if (dml) return dmlOutcome(dml[0], dml[1], (await prepared.run()).rowsChanged)
      const result = await prepared.stream()
      if (result.columnCount === 0 || (prepared.statementType !== StatementType.SELECT && result.columnCount === 1 && result.columnName(0) === 'Count')) {
        return statusOutcome()
      }

      const pager = new Pager(result, mappingsOf(result))
      const first = await pager.take(chunkRows + 1)
      const rowtype = pager.mappings.map((mapping) => mapping.rowType)
      if (first.length <= chunkRows) return {rows: first, rowtype, statementTypeId: STATEMENT_TYPE_ID.SELECT, total: first.length}
      return await this.runLarge(session, sql, rows?.[0], chunkRows)
    } catch (error) {
      throw error instanceof SqlError ? error : toSqlError(error)
    }
  }

  private async runBatch(prepared: DuckDBPreparedStatement, rows: DuckDBValue[][]): Promise<Outcome> {
    const dml = DML[prepared.statementType] ?? ['inserted', STATEMENT_TYPE_ID.INSERT]
    let changed = 0
    for (const row of rows) {
      prepared.bind(row)
      // eslint-disable-next-line no-await-in-loop
      changed += (await prepared.run()).rowsChanged
    }

    return dmlOutcome(dml[0], dml[1], changed)
  }

  private async runLarge(session: DuckDBConnection, sql: string, values: DuckDBValue[] | undefined, chunkRows: number): Promise<Outcome> {
    const count = await session.runAndReadAll(`SELECT count(*) FROM (${sql})`, values)
    const total = Number(count.getRows()[0][0])
    const own = await this.instance.connect()
    try {
      const result = await own.stream(sql, values)
      const pager = new Pager(result, mappingsOf(result), own)
      const rows = await pager.take(chunkRows)
      return {pager, rows, rowtype: pager.mappings.map((mapping) => mapping.rowType), statementTypeId: STATEMENT_TYPE_ID.SELECT, total}
    } catch (error) {
      own.closeSync()
      throw error
    }
  }
}
