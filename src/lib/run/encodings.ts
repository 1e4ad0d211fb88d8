import {ExitCode, KeyflowError} from '../errors.js'

/**
 * The re-encodings of a secret that `keyflow run` masks besides its bytes (docs/run.md
 * "Masking"): the forms a program most often prints a secret in without meaning to, as part
 * of a JSON document, a URL, or base64 data (an Authorization header, a Kubernetes secret).
 */

export const MASK_ENCODINGS = ['json', 'url', 'base64'] as const
export type MaskEncoding = (typeof MASK_ENCODINGS)[number]
/** Shorter secrets are masked as they are only: their encodings would match ordinary text. */
export const MIN_ENCODED_BYTES = 8

/** `none`, or a comma-separated list of MASK_ENCODINGS; `where` names the flag or project-file key. */
export function parseMaskEncodings(raw: unknown, where: string): MaskEncoding[] {
  const names = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((name) => name.trim()) : undefined
  const bad = names === undefined ? [raw] : names.filter((name) => !(MASK_ENCODINGS as readonly unknown[]).includes(name))
  if (names !== undefined && names.length === 1 && names[0] === 'none') return []
  if (bad.length > 0 || names!.length === 0) {
    throw new KeyflowError(`Unknown mask encoding ${bad.map((name) => JSON.stringify(name)).join(', ') || '(empty)'}.`, {
      code: 'USAGE',
      exit: ExitCode.USAGE,
      fix: `Write none, or a comma-separated list of: ${MASK_ENCODINGS.join(', ')}.`,
      where,
    })
  }

  return [...new Set(names as MaskEncoding[])]
}

let percentEncoded: string[] | undefined

/**
 * Each byte percent-encoded: RFC 3986 unreserved bytes, which every percent-encoder leaves
 * alone, as they are; the rest as %XX. Built when the first URL form is (a fifth of a
 * millisecond at start-up, before V8 has compiled the loop): a run that prints nothing, or
 * masks only tokens whose URL form is themselves, never needs it.
 */
function percentEncodedBytes(): string[] {
  percentEncoded ??= Array.from({length: 256}, (_, byte) => {
    const character = String.fromCodePoint(byte)
    return byte < 0x80 && /[\w.~-]/.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  })
  return percentEncoded
}

function percentForms(bytes: Buffer): string[] {
  const encoded = percentEncodedBytes()
  let strict = ''
  for (const byte of bytes) strict += encoded[byte]
  // encodeURIComponent also leaves !'()* alone; stricter encoders (Python's quote, Go's QueryEscape) do not.
  const component = strict.replaceAll(/%2[1789A]/g, (escape) => String.fromCodePoint(Number.parseInt(escape.slice(1), 16)))
  // application/x-www-form-urlencoded writes a space as +.
  return [strict, component, strict.replaceAll('%20', '+')]
}

function jsonForms(bytes: Buffer): string[] {
  const text = bytes.toString('utf8')
  // Binary is never JSON text.
  if (!Buffer.from(text, 'utf8').equals(bytes)) return []
  const escaped = JSON.stringify(text).slice(1, -1)
  // Python's json.dumps escapes everything outside ASCII; PHP's json_encode escapes /.
  // UTF-16 code units, as JSON writes them: astral characters become surrogate pairs.
  // eslint-disable-next-line unicorn/prefer-code-point -- JSON escapes UTF-16 code units, not code points
  const ascii = escaped.replaceAll(/[\u0080-\uFFFF]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return [escaped, ascii, escaped.replaceAll('/', String.raw`\/`)]
}

/**
 * The characters of base64 that depend on the secret's bytes alone, for each of the three
 * offsets it can sit at in the encoded data; in the standard and URL-safe alphabets.
 * At most 4 bits of the secret at each end are in characters shared with its neighbours.
 */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = []
  // The secret after two zero bytes: each offset is a view of it, one copy for all three.
  const padded = Buffer.alloc(2 + bytes.length)
  bytes.copy(padded, 2)
  for (let offset = 0; offset < 3; offset++) {
    const encoded = padded.subarray(2 - offset).toString('base64')
    const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6))
    forms.push(core, core.replaceAll('+', '-').replaceAll('/', '_'))
  }

  return forms
}

const FORMS: Record<MaskEncoding, (bytes: Buffer) => string[]> = {base64: base64Forms, json: jsonForms, url: percentForms}

/** Text that JSON and percent-encoding both leave as it is: its json and url forms are itself. */
const ENCODES_AS_ITSELF = /^[\w.~-]*$/

/** The value and its re-encodings in `encodings` (duplicates are fine: the mask set drops them). */
export function maskForms(value: string, encodings: readonly MaskEncoding[]): string[] {
  const bytes = Buffer.from(value)
  if (bytes.length < MIN_ENCODED_BYTES) return [value]
  // Most tokens (hex, base64url, generated passwords of letters and digits) are such text: of
  // their forms only base64's differ from them, and a run with many secrets builds no others.
  const differing = ENCODES_AS_ITSELF.test(value) ? encodings.filter((encoding) => encoding === 'base64') : encodings
  return [value, ...differing.flatMap((encoding) => FORMS[encoding](bytes))]
}
