import {ExitCode, KeyflowError} from '../errors.js'
import {isPlainObject} from '../util/json.js'
import {SecretReference} from './reference.js'

/**
 * Picks `reference.path` out of a JSON secret. Errors name the reference and the key, never
 * the value: not even JSON.parse's message, which quotes the text it choked on.
 */
export function extractJsonPath(value: string | Uint8Array, reference: SecretReference): string {
  if (reference.path.length === 0) throw new Error('extractJsonPath needs a path')
  const text = typeof value === 'string' ? value : new TextDecoder().decode(value)
  let current: unknown
  try {
    current = JSON.parse(text)
  } catch {
    throw new KeyflowError(`Secret ${JSON.stringify(reference.text)} is not JSON, so key "${reference.path.join('.')}" cannot be read from it.`, {
      code: 'SECRET_NOT_JSON',
      exit: ExitCode.BAD_VALUE,
      fix: 'Drop the #key to get the whole value, or store the secret as a JSON object.',
      where: `reference ${JSON.stringify(reference.text)}`,
    })
  }

  for (const [depth, key] of reference.path.entries()) {
    const walked = reference.path.slice(0, depth)
    const here = walked.length === 0 ? 'the secret' : `"${walked.join('.')}"`
    if (Array.isArray(current) && /^\d+$/.test(key) && Number(key) < current.length) {
      current = current[Number(key)]
    } else if (isPlainObject(current) && Object.hasOwn(current, key)) {
      current = current[key]
    } else {
      // The key names of a JSON secret can be secret themselves (a map of users to tokens), so
      // the error counts them and never lists them.
      const keyCount = isPlainObject(current) ? Object.keys(current).length : 0
      throw new KeyflowError(`Key "${key}" is not in ${here} of ${JSON.stringify(reference.text)}.`, {
        code: 'SECRET_KEY_NOT_FOUND',
        exit: ExitCode.BAD_VALUE,
        fix: isPlainObject(current)
          ? `${here} is an object with ${keyCount} key${keyCount === 1 ? '' : 's'}, none named "${key}"; check the spelling (keys are case-sensitive).`
          : `${here} is ${describeJsonType(current)}, not an object.`,
        where: `reference ${JSON.stringify(reference.text)}`,
      })
    }
  }

  if (typeof current === 'string') return current
  const json = jsonTextOf(current)
  if (json !== undefined) return json
  throw new KeyflowError(`Key "${reference.path.join('.')}" of ${JSON.stringify(reference.text)} holds a value nested too deeply to give as JSON text.`, {
    code: 'SECRET_TOO_DEEP',
    exit: ExitCode.BAD_VALUE,
    fix: 'Pick a key further inside it (#KEY.KEY), or store the secret less deeply nested.',
    where: `reference ${JSON.stringify(reference.text)}`,
  })
}

/**
 * The JSON text of a parsed value, or undefined when it is nested too deeply for
 * JSON.stringify, which recurses (JSON.parse does not, so a 64 KiB secret can be parsed
 * at a depth stringify cannot handle).
 */
export function jsonTextOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}
