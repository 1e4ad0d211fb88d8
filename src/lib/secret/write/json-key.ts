import {ExitCode, KeyflowError} from '../../errors.js'
import {isPlainObject} from '../../util/json.js'
import {jsonTextOf} from '../json-path.js'

/**
 * `NAME#key` and `NAME#a.b` on write: the JSON object of a secret with one key set and every
 * other key as it was. Errors name the secret and the key, never a value.
 */
export function withJsonKey(current: string | Uint8Array | undefined, path: string[], value: string, label: string): string {
  const notJson = (why: string) =>
    new KeyflowError(`Secret ${JSON.stringify(label)} ${why}, so key "${path.join('.')}" cannot be set in it.`, {
      code: 'SECRET_NOT_JSON',
      exit: ExitCode.BAD_VALUE,
      fix: 'Drop the #key to replace the whole value, or store a JSON object in it first.',
      where: `reference ${JSON.stringify(label)}`,
    })
  if (typeof current !== 'string' && current !== undefined) throw notJson('is binary')
  let root: unknown = {}
  if (current !== undefined) {
    try {
      root = JSON.parse(current)
    } catch {
      throw notJson('is not JSON')
    }

    if (!isPlainObject(root)) throw notJson('is JSON but not an object')
  }

  let holder = root as Record<string, unknown>
  for (const [depth, key] of path.entries()) {
    if (depth === path.length - 1) break
    const next = Object.hasOwn(holder, key) ? holder[key] : undefined
    if (next === undefined) {
      // Own property, as JSON.parse makes it: a key named __proto__ must not reach a prototype.
      Object.defineProperty(holder, key, {configurable: true, enumerable: true, value: {}, writable: true})
    } else if (!isPlainObject(next)) {
      throw new KeyflowError(`Key "${path.slice(0, depth + 1).join('.')}" of ${JSON.stringify(label)} is not an object, so "${path.join('.')}" cannot be set.`, {
        code: 'SECRET_KEY_NOT_OBJECT',
        exit: ExitCode.BAD_VALUE,
        fix: `Set "${path.slice(0, depth + 1).join('.')}" itself, or choose another key.`,
        where: `reference ${JSON.stringify(label)}`,
      })
    }

    holder = holder[key] as Record<string, unknown>
  }

  Object.defineProperty(holder, path.at(-1)!, {configurable: true, enumerable: true, value, writable: true})
  const text = jsonTextOf(root)
  if (text === undefined) throw notJson('is nested too deeply to be written back')
  return text
}
