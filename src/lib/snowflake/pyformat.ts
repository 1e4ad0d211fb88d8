import {ExitCode, KeyflowError} from '../errors.js'

/**
 * Prefect's snowflake connector (Python's snowflake-connector, paramstyle pyformat) takes
 * `%(name)s` placeholders with a dict of parameters. keyflow translates them into the driver's
 * positional `?` binds: the values are sent as binds, never written into the SQL text. As in
 * Python's `%` formatting, `%%` is a literal `%` when parameters are named, and any other `%`
 * is an error; with positional parameters (or none) the SQL is left as written.
 */

export type Bind = boolean | null | number | string
export type Params = readonly Bind[]
export type NamedParams = Readonly<Record<string, Bind>>

const PLACEHOLDER = /%(?:\(([^)]*)\)s|(%)|)/g

function pyformatError(message: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'SQL_PARAMETERS', exit: ExitCode.USAGE, fix})
}

export const isNamed = (params: unknown): params is NamedParams => typeof params === 'object' && params !== null && !Array.isArray(params)

/** The SQL with `?` for each placeholder, and the names in their order. */
export function translatePyformat(sql: string): {names: string[]; sql: string} {
  const names: string[] = []
  const text = sql.replaceAll(PLACEHOLDER, (whole, name: string | undefined, percent: string | undefined, offset: number) => {
    if (percent) return '%'
    if (name === undefined) {
      throw pyformatError(`The SQL has a % at character ${offset + 1} that is neither %(name)s nor %%.`, 'Write a literal % as %% when parameters are named, or use %(name)s.')
    }

    names.push(name)
    return '?'
  })
  return {names, sql: text}
}

function valuesFor(names: string[], params: NamedParams, row?: number): Bind[] {
  const missing = [...new Set(names.filter((name) => !Object.hasOwn(params, name)))]
  if (missing.length > 0) {
    throw pyformatError(
      `No parameter for placeholder${missing.length === 1 ? '' : 's'} ${missing.map((name) => `%(${name})s`).join(', ')}${row === undefined ? '' : ` in row ${row + 1}`}.`,
      `Give ${missing.map((name) => JSON.stringify(name)).join(', ')} in the parameters object.`,
    )
  }

  return names.map((name) => params[name])
}

/** SQL and driver binds for one statement. */
export function driverStatement(sql: string, params: NamedParams | Params | undefined): {binds?: Params; sql: string} {
  if (!isNamed(params)) return {binds: params, sql}
  const translated = translatePyformat(sql)
  return {binds: valuesFor(translated.names, params), sql: translated.sql}
}

/** SQL and array binds for executeMany: every row named, or every row positional. */
export function driverBatch(sql: string, rows: ReadonlyArray<NamedParams | Params>): {binds: Bind[][]; sql: string} {
  if (!rows.some((row) => isNamed(row))) return {binds: rows as Bind[][], sql}
  if (!rows.every((row) => isNamed(row))) throw pyformatError('Some parameter rows are objects and some are lists.', 'Give every row as an object for %(name)s placeholders.')
  const translated = translatePyformat(sql)
  return {binds: rows.map((row, index) => valuesFor(translated.names, row as NamedParams, index)), sql: translated.sql}
}
