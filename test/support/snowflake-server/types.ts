import {DuckDBTypeId, DuckDBValue} from '@duckdb/node-api'

/**
 * DuckDB column types mapped to Snowflake rowtype entries, with the JSON-rowset cell encoding
 * snowflake-sdk expects for each (../shared/reference/snowflake-protocol.md §5): every cell is
 * a string or null.
 */

export interface RowType {
  byteLength: null | number
  collation: null
  database: string
  length: null | number
  name: string
  nullable: boolean
  precision: null | number
  scale: null | number
  schema: string
  table: string
  type: string
}

export type Cell = null | string
export type Encoder = (value: DuckDBValue, json: unknown) => Cell

export interface ColumnMapping {
  encode: Encoder
  /** The encoder reads DuckDB's JSON conversion of the value (nested types). */
  needsJson: boolean
  rowType: RowType
}

interface DuckColumn {
  name: string
  scale?: number
  typeId: DuckDBTypeId
  width?: number
}

const MICROS_PER_SECOND = 1_000_000n

/** "seconds.fraction" with a fixed number of fraction digits, exact for negative values too. */
function fixedPoint(units: bigint, perSecond: bigint, digits: number): string {
  let seconds = units / perSecond
  let fraction = units % perSecond
  if (fraction < 0n) {
    seconds -= 1n
    fraction += perSecond
  }

  return `${seconds}.${fraction.toString().padStart(digits, '0')}`
}

function rowType(name: string, type: string, extra: Partial<RowType> = {}): RowType {
  return {
    byteLength: null,
    collation: null,
    database: '',
    length: null,
    name,
    nullable: true,
    precision: null,
    scale: null,
    schema: '',
    table: '',
    type,
    ...extra,
  }
}

const asString: Encoder = (value) => (value === null ? null : String(value))
const asJsonText: Encoder = (value, json) => (value === null ? null : JSON.stringify(json))

function micros(value: DuckDBValue): bigint {
  return (value as {micros: bigint}).micros
}

const INTEGER_TYPES = new Set([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UTINYINT,
])

export function mapColumn(column: DuckColumn): ColumnMapping {
  const {name} = column
  const plain = (type: string, encode: Encoder, extra: Partial<RowType> = {}): ColumnMapping => ({
    encode,
    needsJson: false,
    rowType: rowType(name, type, extra),
  })
  if (INTEGER_TYPES.has(column.typeId)) return plain('fixed', asString, {precision: 38, scale: 0})
  switch (column.typeId) {
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.LIST: {
      return {encode: asJsonText, needsJson: true, rowType: rowType(name, 'array')}
    }

    case DuckDBTypeId.BLOB: {
      return plain(
        'binary',
        (value) => (value === null ? null : Buffer.from((value as {bytes: Uint8Array}).bytes).toString('hex').toUpperCase()),
        {byteLength: 8_388_608, length: 8_388_608},
      )
    }

    case DuckDBTypeId.BOOLEAN: {
      return plain('boolean', (value) => (value === null ? null : value ? '1' : '0'))
    }

    case DuckDBTypeId.DATE: {
      return plain('date', (value) => (value === null ? null : String((value as {days: number}).days)))
    }

    case DuckDBTypeId.DECIMAL: {
      return plain('fixed', asString, {precision: column.width ?? 38, scale: column.scale ?? 0})
    }

    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT: {
      return plain('real', asString)
    }

    case DuckDBTypeId.MAP:
    case DuckDBTypeId.STRUCT: {
      return {encode: asJsonText, needsJson: true, rowType: rowType(name, 'object')}
    }

    case DuckDBTypeId.TIME: {
      return plain('time', (value) => (value === null ? null : fixedPoint(micros(value), MICROS_PER_SECOND, 6)), {scale: 6})
    }

    case DuckDBTypeId.TIMESTAMP: {
      return plain('timestamp_ntz', (value) => (value === null ? null : fixedPoint(micros(value), MICROS_PER_SECOND, 6)), {scale: 6})
    }

    case DuckDBTypeId.TIMESTAMP_MS: {
      return plain(
        'timestamp_ntz',
        (value) => (value === null ? null : fixedPoint((value as {millis: bigint}).millis, 1000n, 3)),
        {scale: 3},
      )
    }

    case DuckDBTypeId.TIMESTAMP_NS: {
      return plain(
        'timestamp_ntz',
        (value) => (value === null ? null : fixedPoint((value as {nanos: bigint}).nanos, 1_000_000_000n, 9)),
        {scale: 9},
      )
    }

    case DuckDBTypeId.TIMESTAMP_S: {
      return plain('timestamp_ntz', (value) => (value === null ? null : `${(value as {seconds: bigint}).seconds}.0`), {scale: 0})
    }

    case DuckDBTypeId.TIMESTAMP_TZ: {
      return plain('timestamp_ltz', (value) => (value === null ? null : fixedPoint(micros(value), MICROS_PER_SECOND, 6)), {scale: 6})
    }

    default: {
      return plain('text', asString, {byteLength: 16_777_216, length: 16_777_216})
    }
  }
}

/** DuckDB's JSON logical type is a VARCHAR alias; Snowflake calls such a column a variant. */
export function variantColumn(name: string): ColumnMapping {
  return {encode: asString, needsJson: false, rowType: rowType(name, 'variant')}
}
