/**
 * Streaming secret masking for `keyflow run` (docs/run.md "Masking").
 *
 * Every byte that belongs to an occurrence of a secret is hidden; each maximal run of
 * overlapping occurrences becomes one MASK, so overlapping secrets and secrets that are
 * prefixes of each other leave no fragment behind. Everything else passes through byte for
 * byte (binary included), in order.
 *
 * Matching is byte-level, Wu-Manber style: with m the length of the shortest secret, each
 * window of m bytes is judged by its last 3 bytes. A table says how far the window may move
 * before those bytes could line up with the first m bytes of some secret; most windows of
 * ordinary output move by nearly m at once, whatever the number of secrets. Only where the
 * table says 0 are the secrets ending their first m bytes with those 3 bytes compared, first
 * by their leading 4 bytes as a word. Secrets are at least MIN_MASK_BYTES long.
 *
 * Memory is bounded: at most the longest secret minus one byte is held back between writes.
 * After IDLE_MS without output, the held bytes that cannot begin a secret are released, so a
 * prompt without a newline still shows up.
 */

/* eslint-disable no-bitwise -- hashing and word compares over bytes are the matcher itself */

export const MIN_MASK_BYTES = 4
export const MASK = Buffer.from('*****')
/** Blocks of 3 bytes hashed to 18 bits: a 256 KiB shift table that ordinary text barely fills. */
const BLOCK = 3
const HASH_BITS = 18
/** Windows longer than this gain little and would overflow the byte-sized shift table. */
const MAX_WINDOW = 64
const IDLE_MS = 25

interface Pattern {
  bytes: Buffer
  /** The first four bytes as a little-endian word, compared before the whole pattern. */
  head: number
}

const word = (bytes: Uint8Array, at: number) =>
  (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
/** The hash of the block ending at `end`. */
const blockHash = (bytes: Uint8Array, end: number) =>
  Math.imul(bytes[end - 2] | (bytes[end - 1] << 8) | (bytes[end] << 16), 0x9e_37_79_b1) >>> (32 - HASH_BITS)

/** The secrets to mask, indexed once for any number of streams. */
export class MaskSet {
  readonly maxLength: number
  readonly minLength: number
  readonly size: number
  /** Secrets by the hash of the block that ends their first `window` bytes. */
  private readonly buckets: Array<Pattern[] | undefined>
  private readonly byFirstByte: Array<Pattern[] | undefined>
  private readonly shift: Uint8Array
  private readonly window: number

  constructor(values: Iterable<string | Uint8Array>) {
    const unique = new Map<string, Buffer>()
    for (const value of values) {
      const bytes = Buffer.from(value)
      if (bytes.length >= MIN_MASK_BYTES) unique.set(bytes.toString('latin1'), bytes)
    }

    const lengths = [...unique.values()].map((bytes) => bytes.length)
    this.size = unique.size
    this.maxLength = Math.max(0, ...lengths)
    this.minLength = unique.size === 0 ? 0 : Math.min(...lengths)
    this.window = Math.min(this.minLength, MAX_WINDOW)
    this.buckets = Array.from({length: 1 << HASH_BITS})
    this.byFirstByte = Array.from({length: 256})
    this.shift = new Uint8Array(1 << HASH_BITS).fill(Math.max(1, this.window - BLOCK + 1))
    for (const bytes of unique.values()) {
      const pattern = {bytes, head: word(bytes, 0)}
      for (let end = BLOCK - 1; end < this.window; end++) {
        const index = blockHash(bytes, end)
        this.shift[index] = Math.min(this.shift[index], this.window - 1 - end)
      }

      ;(this.buckets[blockHash(bytes, this.window - 1)] ??= []).push(pattern)
      ;(this.byFirstByte[bytes[0]] ??= []).push(pattern)
    }
  }

  /** The first position in [from, buffer.length) where the rest of the buffer could begin a secret. */
  partialStart(buffer: Buffer, from: number): number {
    for (let at = from; at < buffer.length; at++) {
      const rest = buffer.length - at
      for (const pattern of this.byFirstByte[buffer[at]] ?? []) {
        if (pattern.bytes.length > rest && pattern.bytes.compare(buffer, at, buffer.length, 0, rest) === 0) return at
      }
    }

    return buffer.length
  }

  /**
   * Scans match starts in [from, to) of `buffer` in order, calling `found(start, end)` for the
   * longest secret starting at each position that ends inside the buffer.
   */
  scan(buffer: Buffer, from: number, to: number, found: (start: number, end: number) => void): void {
    const {buckets, shift, window} = this
    if (window === 0) return
    const last = Math.min(to, buffer.length - window + 1)
    const {length} = buffer
    for (let at = from; at < last; ) {
      const index = blockHash(buffer, at + window - 1)
      const step = shift[index]
      if (step > 0) {
        at += step
        continue
      }

      const head = word(buffer, at)
      let end = -1
      for (const pattern of buckets[index]!) {
        const patternEnd = at + pattern.bytes.length
        if (pattern.head === head && patternEnd > end && patternEnd <= length && matchesAt(buffer, at, pattern.bytes)) end = patternEnd
      }

      if (end !== -1) found(at, end)
      at++
    }
  }
}

function matchesAt(buffer: Buffer, at: number, bytes: Buffer): boolean {
  // The first four bytes already matched as a word.
  for (let index = 4; index < bytes.length; index++) {
    if (buffer[at + index] !== bytes[index]) return false
  }

  return true
}

type Mode = 'end' | 'idle' | 'stream'
const EMPTY = Buffer.alloc(0)

/**
 * One output stream's masker: write() chunks in, get masked chunks out (possibly none yet);
 * end() releases the rest. `onIdle` receives what an idle period releases.
 */
export class StreamMasker {
  /** Bytes already covered by a mask that was written (relative to pending). */
  private coverEnd = 0
  private idleTimer?: NodeJS.Timeout
  private pending: Buffer = EMPTY
  private writes = 0

  constructor(
    private readonly set: MaskSet,
    private readonly onIdle?: (chunk: Buffer) => void,
  ) {}

  end(): Buffer[] {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    return this.drain('end')
  }

  /** Releases the held bytes that cannot begin a secret (what a quiet period does). */
  release(): Buffer[] {
    return this.drain('idle')
  }

  write(chunk: Buffer): Buffer[] {
    this.writes++
    const out = this.drain('stream', chunk)
    if (this.onIdle && this.pending.length > 0 && !this.idleTimer) this.scheduleIdle(this.writes)
    return out
  }

  /**
   * Masks held bytes followed by `chunk` as if they were one buffer, without copying the
   * chunk: output is views of both, and only the held bytes plus the start of the chunk are
   * ever joined, to find secrets that straddle them.
   */
  private drain(mode: Mode, chunk: Buffer = EMPTY): Buffer[] {
    const {pending: held, set} = this
    const split = held.length
    const total = split + chunk.length
    // Bytes before emitTo are decided: no secret that could still be completed starts there.
    // Only a secret that began within the last maxLength-1 bytes can still be completed.
    const tail = Math.max(0, total - set.maxLength + 1)
    const emitTo = mode === 'stream' ? tail : mode === 'idle' ? set.partialStart(held, tail) : total
    const out: Buffer[] = []
    const piece = (from: number, to: number) => {
      if (from < split) out.push(held.subarray(from, Math.min(to, split)))
      if (to > split) out.push(chunk.subarray(Math.max(from, split) - split, to - split))
    }

    let plainFrom = Math.min(this.coverEnd, total)
    let {coverEnd} = this
    const onMatch = (offset: number) => (start: number, end: number) => {
      start += offset
      end += offset
      if (start < coverEnd) {
        coverEnd = Math.max(coverEnd, end)
        plainFrom = Math.max(plainFrom, coverEnd)
        return
      }

      if (start > plainFrom) piece(plainFrom, start)
      out.push(MASK)
      coverEnd = end
      plainFrom = end
    }

    if (split > 0 && emitTo > 0) {
      const seam = chunk.length === 0 ? held : Buffer.concat([held, chunk.subarray(0, set.maxLength - 1)])
      set.scan(seam, 0, Math.min(split, emitTo), onMatch(0))
    }

    if (emitTo > split) set.scan(chunk, 0, emitTo - split, onMatch(split))
    if (emitTo > plainFrom) piece(plainFrom, emitTo)
    // Copies: a view would pin the whole chunk it came from.
    if (emitTo >= total) this.pending = EMPTY
    else if (emitTo >= split) this.pending = Buffer.from(chunk.subarray(emitTo - split))
    else this.pending = Buffer.concat([held.subarray(emitTo), chunk])
    this.coverEnd = Math.max(0, coverEnd - emitTo)
    return out
  }

  private scheduleIdle(seen: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined
      if (this.writes !== seen) {
        this.scheduleIdle(this.writes)
        return
      }

      const out = this.release()
      if (out.length > 0) this.onIdle!(Buffer.concat(out))
    }, IDLE_MS)
    this.idleTimer.unref()
  }
}
