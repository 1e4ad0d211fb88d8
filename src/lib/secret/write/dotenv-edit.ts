import {dotenvLine} from '../format.js'
import {scanDotenv} from '../sources/dotenv.js'

/**
 * Edits the text of a dotenv file the way a careful person would by hand: one entry changes,
 * every other byte (comments, blank lines, order, quoting, line ends) stays as it was. Values
 * are quoted by dotenvLine, which throws when dotenv syntax cannot hold one.
 */

/** The lines of `text`, each with its own line end ('' for a last line without one). */
function splitLines(text: string): string[] {
  return text.split(/(?<=\n)|(?<=\r)(?!\n)/).filter((line) => line !== '')
}

const lineEnd = (line: string) => /\r?\n$|\r$/.exec(line)?.[0] ?? ''

/**
 * Sets `name`. The line that dotenv reads it from (the last, when it occurs more than once) is
 * replaced, keeping its `export ` and its trailing comment; a new name is appended.
 */
export function setEntry(text: string, name: string, value: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const entry = scanDotenv(text).findLast((candidate) => candidate.name === name)
  if (!entry) return (text === '' || /[\n\r]$/.test(text) ? text : text + eol) + dotenvLine({key: name, value}) + eol
  const lines = splitLines(text)
  const prefix = /^[\t ]*(?:export[\t ]+)?/.exec(lines[entry.firstLine])![0]
  const comment = entry.comment.trim() === '' ? '' : /^[\t ]/.test(entry.comment) ? entry.comment : ` ${entry.comment}`
  const replaced = prefix + dotenvLine({key: name, value}) + comment + lineEnd(lines[entry.lastLine])
  return [...lines.slice(0, entry.firstLine), replaced, ...lines.slice(entry.lastLine + 1)].join('')
}

/** Removes every line that sets `name`: leaving an earlier one would bring an old value back. */
export function removeEntry(text: string, name: string): {removed: number; text: string} {
  const entries = scanDotenv(text).filter((candidate) => candidate.name === name)
  if (entries.length === 0) return {removed: 0, text}
  const drop = new Set(entries.flatMap(({firstLine, lastLine}) => Array.from({length: lastLine - firstLine + 1}, (_, i) => firstLine + i)))
  return {removed: entries.length, text: splitLines(text).filter((_, index) => !drop.has(index)).join('')}
}
