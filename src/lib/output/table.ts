import stringWidth from 'string-width'

/**
 * Text tables for people, aligned by display width: a CJK character or an emoji takes two
 * terminal columns, a combining mark none, and ANSI colour codes none (string-width), where
 * String.length counts UTF-16 units and misaligns every column after such a cell.
 */

/**
 * Printable ASCII is as wide as it is long: string-width's own first answer, given here before
 * the module is loaded (scripts/bundle.mjs defers it), since loading it builds an
 * Intl.Segmenter (ICU data: about 10 ms) that most tables, all ASCII, never need.
 */
export const displayWidth = (text: string): number => (/^[\u0020-\u007E]*$/.test(text) ? text.length : stringWidth(text))

export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)))
}

/** Columns two spaces apart, the last one unpadded; nothing when there are no rows. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return ''
  const widths = headers.map((header, column) => Math.max(displayWidth(header), ...rows.map((row) => displayWidth(row[column]))))
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : padToWidth(cell, widths[column]))).join('  ').trimEnd()
  return [line(headers), ...rows.map((row) => line(row))].join('\n') + '\n'
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
]

/**
 * "5 minutes ago", "yesterday", "3 months ago": how people read a timestamp in a table (--json
 * keeps ISO 8601). The words of Intl.RelativeTimeFormat('en', {numeric: 'auto'}) for these
 * units (test/unit/output/table.test.ts compares them), written out: building that formatter
 * loads ICU data, about 10 ms of every `block ls`.
 */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000
  if (Number.isNaN(seconds)) return iso
  if (Math.abs(seconds) < 60) return 'just now'
  const [unit, size] = UNITS.find(([, length]) => Math.abs(seconds) >= length)!
  const count = Math.round(seconds / size)
  if (unit === 'day' && Math.abs(count) === 1) return count < 0 ? 'yesterday' : 'tomorrow'
  if ((unit === 'week' || unit === 'month' || unit === 'year') && Math.abs(count) === 1) return `${count < 0 ? 'last' : 'next'} ${unit}`
  const amount = `${String(Math.abs(count)).replaceAll(/\B(?=(\d{3})+$)/g, ',')} ${unit}${Math.abs(count) === 1 ? '' : 's'}`
  return count < 0 ? `${amount} ago` : `in ${amount}`
}
