import stringWidth from 'string-width'

/**
 * Text tables for people, aligned by display width: a CJK character or an emoji takes two
 * terminal columns, a combining mark none, and ANSI colour codes none (string-width), where
 * String.length counts UTF-16 units and misaligns every column after such a cell.
 */

export const displayWidth = (text: string): number => stringWidth(text)

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

/** Made on first use: building it loads ICU data, which a command that prints no time does not need. */
let relative: Intl.RelativeTimeFormat | undefined
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
]

/** "5 minutes ago", "yesterday", "3 months ago": how people read a timestamp in a table (--json keeps ISO 8601). */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000
  if (Number.isNaN(seconds)) return iso
  if (Math.abs(seconds) < 60) return 'just now'
  const [unit, size] = UNITS.find(([, length]) => Math.abs(seconds) >= length)!
  relative ??= new Intl.RelativeTimeFormat('en', {numeric: 'auto'})
  return relative.format(Math.round(seconds / size), unit)
}
