import {nodeCrypto} from '../../util/builtin.js'

/**
 * Canonical JSON as Python's `json.dumps(obj, sort_keys=True)` writes it (", " and ": "
 * separators, non-ASCII escaped as \uXXXX), so a checksum keyflow computes over a structure
 * equals the one Prefect's `hash_objects` computes over the same structure.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pythonFloat(value)
  if (typeof value === 'string') return asciiString(value)
  if (Array.isArray(value)) return `[${value.map((item) => pythonJson(item)).join(', ')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([key, item]) => `${asciiString(key)}: ${pythonJson(item)}`).join(', ')}}`
}

function pythonFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'
  const text = String(value)
  return /[.e]/.test(text) ? text.replace(/e([+-])(\d)$/, 'e$10$2') : `${text}.0`
}

function asciiString(text: string): string {
  // UTF-16 code units, not code points: Python's ensure_ascii writes astral characters as surrogate pairs.
  // eslint-disable-next-line unicorn/prefer-code-point
  return JSON.stringify(text).replaceAll(/[\u007F-\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `sha256:<hex>` over Python-canonical JSON of `[[value], {}]`, Prefect's `hash_objects(value)`. */
export function checksumOf(value: unknown): string {
  return `sha256:${nodeCrypto().createHash('sha256').update(pythonJson([[value], {}])).digest('hex')}`
}
