import {readFileSync} from 'node:fs'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../errors.js'

/**
 * Reads a JSON file keyflow owns or the user wrote. A syntax error is reported by line and
 * column only: JSON.parse's own message quotes the text around the error, which may be a
 * secret.
 */
export function readJsonFile(path: string, what: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new KeyflowError(`Cannot read the ${what}: ${describeFsError(error)}.`, {
      code: errnoCode(error) === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      exit: errnoCode(error) === 'ENOENT' ? ExitCode.NOT_FOUND : ExitCode.INTEGRITY,
      fix: 'Check the path and its permissions.',
      where: path,
    })
  }

  return parseJsonText(text.replace(/^\uFEFF/, ''), path, what)
}

export function parseJsonText(text: string, where: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new KeyflowError(`The ${what} is not valid JSON${jsonErrorLocation(text, error)}.`, {
      code: 'MALFORMED_JSON',
      exit: ExitCode.INTEGRITY,
      fix: `Fix the JSON syntax in ${where} (a JSON linter shows the exact spot).`,
      where,
    })
  }
}

/** " at line L, column C" from a JSON.parse error, without quoting any text. */
export function jsonErrorLocation(text: string, error: unknown): string {
  const match = error instanceof Error ? /position (\d+)/.exec(error.message) : null
  if (!match) return text.trim() === '' ? ' (it is empty)' : ''
  const offset = Number(match[1])
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return ` at line ${line}, column ${column}`
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const JSON_STRING = /"(?:[^"\\]|\\.)*"/y
const JSON_SPACE = /[\t\n\r ]*/y

/**
 * The members of a JSON object text, each value as the exact text written: a number keeps its
 * digits (12345678901234567890, 1e400), which JSON.parse would round or turn into Infinity.
 * Later duplicates win, as in JSON.parse. `text` must already be known to parse as an object.
 */
export function jsonObjectMembers(text: string): Map<string, {raw: string; value: unknown}> {
  const members = new Map<string, {raw: string; value: unknown}>()
  let position = 0
  const skip = () => {
    JSON_SPACE.lastIndex = position
    position += JSON_SPACE.exec(text)![0].length
  }

  skip()
  position += 1 // {
  for (;;) {
    skip()
    if (text[position] === '}') return members
    JSON_STRING.lastIndex = position
    const key = JSON_STRING.exec(text)![0]
    position += key.length
    skip()
    position += 1 // :
    skip()
    const start = position
    let depth = 0
    while (position < text.length) {
      const char = text[position]
      if (char === '"') {
        JSON_STRING.lastIndex = position
        position += JSON_STRING.exec(text)![0].length
        continue
      }

      if (depth === 0 && (char === ',' || char === '}')) break
      if (char === '{' || char === '[') depth += 1
      else if (char === '}' || char === ']') depth -= 1
      position += 1
    }

    const raw = text.slice(start, position).trimEnd()
    members.set(JSON.parse(key) as string, {raw, value: JSON.parse(raw)})
    if (text[position] === ',') position += 1
  }
}
