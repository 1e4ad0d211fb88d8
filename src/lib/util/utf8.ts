import {isUtf8} from 'node:buffer'

/**
 * The text of bytes that must be UTF-8, as a fatal TextDecoder reads them (one leading BOM
 * dropped), or undefined where they are not UTF-8. buffer.isUtf8 checks them without the
 * decoder: making a TextDecoder costs about 0.15 ms, a part of every `secret get` answered from
 * an env file.
 */
export function utf8Text(bytes: Uint8Array): string | undefined {
  if (!isUtf8(bytes)) return undefined
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  return text.startsWith('\uFEFF') ? text.slice(1) : text
}
