import type {Writable} from 'node:stream'

import {createReadStream} from 'node:fs'
import {readFile, stat} from 'node:fs/promises'
import {createInterface} from 'node:readline'

import {describeFsError, ExitCode, KeyflowError} from '../errors.js'
import {displayWidth, padToWidth} from '../output/table.js'
import {AnyParams, Row, SnowflakeConnector} from './connector.js'

/**
 * The engine of `keyflow sql`: runs a statement and streams its rows to a writable in one of
 * four formats, row by row with backpressure, so the output of any size costs bounded memory.
 * The table format, for people, buffers the first TABLE_SAMPLE rows to size its columns and
 * streams the rest with those widths.
 */

export const SQL_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const
export type SqlFormat = (typeof SQL_FORMATS)[number]

export interface RunSqlOptions {
  binds?: AnyParams
  format: SqlFormat
  out: Writable
  sql: string
}

export interface RunSqlResult {
  columns: string[]
  queryId: string
  rows: number
}

const TABLE_SAMPLE = 100
const FLUSH_BYTES = 64 * 1024

/** Collects small writes and hands them on in 64 KiB pieces, waiting for 'drain'; a closed pipe (EPIPE) ends the output quietly. */
class Output {
  closed = false
  private pending = ''

  constructor(private readonly out: Writable) {
    out.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.closed = true
    })
  }

  append(text: string): void {
    this.pending += text
  }

  async flush(): Promise<void> {
    if (this.pending === '' || this.closed) return
    const text = this.pending
    this.pending = ''
    if (!this.out.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done)
          this.out.off('error', done)
          this.out.off('close', done)
          resolve()
        }

        this.out.on('drain', done)
        this.out.on('error', done)
        this.out.on('close', done)
      })
    }
  }

  /** Hands the collected text on once there is a piece's worth. */
  async flushWhenFull(): Promise<void> {
    if (this.pending.length >= FLUSH_BYTES) await this.flush()
  }
}

/** A cell as JSON: binary as hex (Snowflake's default BINARY_OUTPUT_FORMAT), dates as ISO text. */
function jsonValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('hex').toUpperCase()
  if (typeof value === 'bigint') return value.toString()
  return value
}

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key]
  return Buffer.isBuffer(raw) ? raw.toString('hex').toUpperCase() : jsonValue(value)
}

function textValue(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return value.toISOString()
  if (Buffer.isBuffer(value)) return value.toString('hex').toUpperCase()
  if (typeof value === 'object') return JSON.stringify(value, jsonReplacer)
  return String(value)
}

const CSV_QUOTED = /[",\r\n]/

function csvField(text: string): string {
  return CSV_QUOTED.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A cell's CSV field; a number or boolean never needs quotes, so only text is searched for a quote, comma or line break. */
function csvCell(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
    case 'boolean':
    case 'number': {
      return String(value)
    }

    case 'string': {
      return csvField(value)
    }

    default: {
      return csvField(textValue(value))
    }
  }
}

/**
 * A row as the JSON text of {column: value}, written without building the object: the keys in
 * the order such an object has (integer-like names first, a repeated name where it first
 * appears, holding the value of its last column), a value JSON leaves out (undefined) omitted.
 */
function jsonRowWriter(columns: string[]): (row: Row) => string {
  const lastIndex = Object.fromEntries(columns.map((column, index) => [column, index]))
  const fields = Object.entries(lastIndex).map(([column, index]) => ({index, key: JSON.stringify(column) + ':'}))
  return (row) => {
    let text = '{'
    for (const {index, key} of fields) {
      const value = row[index]
      // Only bigints, Buffers and objects that may hold them need the replacer; JSON's fast path takes the rest.
      const cell = (typeof value === 'object' && value !== null) || typeof value === 'bigint' ? JSON.stringify(value, jsonReplacer) : JSON.stringify(value)
      if (cell !== undefined) text += (text === '{' ? '' : ',') + key + cell
    }

    return text + '}'
  }
}

function csvLine(row: Row): string {
  let line = row.length > 0 ? csvCell(row[0]) : ''
  for (let index = 1; index < row.length; index++) line += ',' + csvCell(row[index])
  return line + '\r\n'
}

function tableLine(cells: string[], widths: number[]): string {
  return cells.map((cell, index) => padToWidth(cell, widths[index])).join(' | ').trimEnd() + '\n'
}

/** Table cells stay on one line. */
function tableCell(value: unknown): string {
  return value === null ? 'NULL' : textValue(value).replaceAll(/\r?\n/g, String.raw`\n`)
}

/** The text of one row in a streaming format (not the table); `index` counts from 0. */
function lineWriter(format: Exclude<SqlFormat, 'table'>, columns: string[]): (row: Row, index: number) => string {
  const jsonRow = jsonRowWriter(columns)
  switch (format) {
    case 'csv': {
      return csvLine
    }

    case 'json': {
      return (row, index) => (index === 0 ? '\n' : ',\n') + jsonRow(row)
    }

    case 'ndjson': {
      return (row) => jsonRow(row) + '\n'
    }
  }
}

export async function runSql(connector: SnowflakeConnector, options: RunSqlOptions): Promise<RunSqlResult> {
  // Dates and times as Snowflake formats them (DATE_OUTPUT_FORMAT etc.), not as JS Dates in UTC.
  const result = await connector.stream(options.sql, options.binds, ['Date'])
  const {columns} = result
  const output = new Output(options.out)
  let count = 0
  const sample: string[][] = []
  let widths: number[] | undefined
  const startTable = () => {
    widths = columns.map((column, index) => Math.max(displayWidth(column), ...sample.map((cells) => displayWidth(cells[index]))))
    output.append(tableLine(columns, widths) + widths.map((width) => '-'.repeat(width)).join('-+-') + '\n')
    for (const cells of sample) output.append(tableLine(cells, widths))
    sample.length = 0
  }

  const tableRow = (row: Row) => {
    const cells = row.map((value) => tableCell(value))
    if (widths) output.append(tableLine(cells, widths))
    else {
      sample.push(cells)
      if (sample.length === TABLE_SAMPLE) startTable()
    }
  }

  const {format} = options
  const line = format === 'table' ? undefined : lineWriter(format, columns)
  if (format === 'json') output.append('[')
  if (format === 'csv') output.append(columns.map((column) => csvField(column)).join(',') + '\r\n')
  // Each batch is formatted without a wait; the output is handed on (and 'drain' awaited) between batches.
  for await (const batch of result.batches()) {
    if (output.closed) break
    for (const row of batch) {
      if (line) output.append(line(row, count))
      else tableRow(row)
      count++
    }

    await output.flushWhenFull()
  }

  if (format === 'json') output.append(count === 0 ? ']\n' : '\n]\n')
  if (format === 'table') {
    if (!widths) startTable()
    output.append(`(${count} row${count === 1 ? '' : 's'})\n`)
  }

  await output.flush()
  return {columns, queryId: result.queryId, rows: count}
}

export interface BatchInsertOptions {
  /** Rows per executeMany call: bounded so array binding stays below the driver's stage-binding threshold. */
  batchRows?: number
  /** A JSON array of rows, or NDJSON (one row per line); each row an array of values. */
  file: string
  sql: string
}

export interface BatchInsertResult {
  batches: number
  rows: number
  rowsAffected: number
}

function badRows(message: string, where: string): KeyflowError {
  return new KeyflowError(message, {
    code: 'BAD_ROWS_FILE',
    exit: ExitCode.BAD_VALUE,
    fix: 'Give a JSON array of rows or NDJSON (one row per line); each row an array (or, for %(name)s placeholders, an object) of strings, numbers, booleans or nulls.',
    where,
  })
}

/** A row: an array of values for ? placeholders, or an object of them for %(name)s (pyformat). */
function checkRow(value: unknown, where: string): AnyParams {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
  if (!Array.isArray(value) && !isObject) throw badRows('A row is not an array (or, for %(name)s placeholders, an object) of values.', where)
  for (const cell of Object.values(value as object)) {
    if (cell !== null && !['boolean', 'number', 'string'].includes(typeof cell)) throw badRows('A value is not a string, number, boolean or null.', where)
  }

  return value as AnyParams
}

/**
 * Rows of the file, one at a time. A JSON array of rows starts with `[` then `[` (or is `[]`)
 * and is parsed whole; anything else is NDJSON, read line by line.
 * @yields each row, checked to be an array (or object) of scalars
 */
async function* readRows(file: string): AsyncGenerator<AnyParams> {
  let head = ''
  try {
    if (!(await stat(file)).isFile()) throw badRows('The rows file is not a regular file.', file)
    for await (const part of createReadStream(file, {encoding: 'utf8', end: 4095})) head += part
  } catch (error) {
    if (error instanceof KeyflowError) throw error
    throw new KeyflowError(`Cannot read the rows file: ${describeFsError(error)}.`, {code: 'ROWS_FILE_UNREADABLE', exit: ExitCode.NOT_FOUND, where: file})
  }

  if (!/^\[\s*[[\]{]/.test(head.trimStart())) {
    yield* readLines(file)
    return
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch {
    // JSON.parse's message quotes the input: never forward it.
    throw badRows('The rows file is not valid JSON.', file)
  }

  if (!Array.isArray(parsed)) throw badRows('The rows file is not a JSON array of rows.', file)
  for (const [index, row] of parsed.entries()) yield checkRow(row, `${file}, row ${index + 1}`)
}

/** @yields each non-blank line of an NDJSON file as a row */
async function* readLines(file: string): AsyncGenerator<AnyParams> {
  const lines = createInterface({crlfDelay: Number.POSITIVE_INFINITY, input: createReadStream(file, {encoding: 'utf8'})})
  let number = 0
  for await (const line of lines) {
    number++
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw badRows(`Line ${number} is not valid JSON.`, `${file}:${number}`)
    }

    yield checkRow(value, `${file}:${number}`)
  }
}

/** Inserts the rows of a file with executeMany, in batches, and reports the rows affected. */
export async function runBatchInsert(connector: SnowflakeConnector, options: BatchInsertOptions): Promise<BatchInsertResult> {
  const result: BatchInsertResult = {batches: 0, rows: 0, rowsAffected: 0}
  let batch: AnyParams[] = []
  const send = async () => {
    if (batch.length === 0) return
    const {rowsAffected} = await connector.executeMany(options.sql, batch)
    result.batches++
    result.rows += batch.length
    result.rowsAffected += rowsAffected ?? 0
    batch = []
  }

  for await (const row of readRows(options.file)) {
    batch.push(row)
    const limit = options.batchRows ?? Math.max(1, Math.floor(50_000 / Math.max(1, Object.keys(row).length)))
    if (batch.length >= limit) await send()
  }

  await send()
  return result
}
