/**
 * Streaming secret masking for `keyflow run` (docs/run.md "Masking").
 *
 * Every byte that belongs to an occurrence of a secret is hidden; each maximal run of
 * overlapping occurrences becomes one MASK, so overlapping secrets and secrets that are
 * prefixes of each other leave no fragment behind. Everything else passes through byte for
 * byte (binary included), in order.
 *
 * Matching is byte-level: every position's 4-byte window is hashed into a 64 Ki table of
 * buckets holding the secrets that start with those 4 bytes, so the cost per byte is one
 * table probe whatever the number of secrets; only a probe hit compares whole secrets.
 * Secrets are at least MIN_MASK_BYTES long, which is what makes a 4-byte window possible.
 *
 * Memory is bounded: at most the longest secret minus one byte is held back between writes.
 * After IDLE_MS without output, the held bytes that cannot begin a secret are released, so a
 * prompt without a newline still shows up.
 */

export const MIN_MASK_BYTES = 4
export const MASK = Buffer.from('*****')
const HASH_BITS = 16
const IDLE_MS = 25

interface Pattern {
  bytes: Buffer
  /** The first four bytes as a little-endian word, compared before the whole pattern. */
  head: number
}

const word = (bytes: Uint8Array, at: number) =>
  (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
const slot = (head: number) => Math.imul(head, 0x9e_37_79_b1) >>> (32 - HASH_BITS)

/** The secrets to mask, indexed once for any number of streams. */
export class MaskSet {
  readonly maxLength: number
  readonly minLength: number
  readonly size: number
  private readonly buckets: Array<Pattern[] | undefined>
  private readonly byFirstByte: Array<Pattern[] | undefined>
  private readonly occupied: Uint8Array

  constructor(values: Iterable<Uint8Array | string>) {
    const unique = new Map<string, Buffer>()
    for (const value of values) {
      const bytes = Buffer.from(value)
      if (bytes.length >= MIN_MASK_BYTES) unique.set(bytes.toString('latin1'), bytes)
    }

    this.buckets = Array.from({length: 1 << HASH_BITS})
    this.byFirstByte = Array.from({length: 256})
    this.occupied = new Uint8Array(1 << HASH_BITS)
    let max = 0
    let min = Number.POSITIVE_INFINITY
    for (const bytes of unique.values()) {
      const pattern = {bytes, head: word(bytes, 0)}
      const index = slot(pattern.head)
      this.occupied[index] = 1
      ;(this.buckets[index] ??= []).push(pattern)
      ;(this.byFirstByte[bytes[0]] ??= []).push(pattern)
      max = Math.max(max, bytes.length)
      min = Math.min(min, bytes.length)
    }

    this.size = unique.size
    this.maxLength = max
    this.minLength = unique.size === 0 ? 0 : min
  }

  /**
   * Scans match starts in [from, to) of `buffer`, calling `found(start, end)` for the longest
   * secret starting at each position that ends inside the buffer.
   */
  scan(buffer: Buffer, from: number, to: number, found: (start: number, end: number) => void): void {
    const last = Math.min(to, buffer.length - MIN_MASK_BYTES + 1)
    if (from >= last) return
    const {buckets, occupied} = this
    let window = word(buffer, from)
    for (let at = from; ; ) {
      const index = Math.imul(window, 0x9e_37_79_b1) >>> (32 - HASH_BITS)
      if (occupied[index] === 1) {
        let end = -1
        for (const pattern of buckets[index]!) {
          const length = pattern.bytes.length
          if (pattern.head === window && at + length > end && at + length <= buffer.length && matchesAt(buffer, at, pattern.bytes)) {
            end = at + length
          }
        }

        if (end !== -1) found(at, end)
      }

      if (++at >= last) return
      window = ((window >>> 8) | (buffer[at + 3] << 24)) >>> 0
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
}

function matchesAt(buffer: Buffer, at: number, bytes: Buffer): boolean {
  // The first four bytes already matched as a word.
  for (let index = 4; index < bytes.length; index++) {
    if (buffer[at + index] !== bytes[index]) return false
  }

  return true
}

type Mode = 'end' | 'idle' | 'stream'

/**
 * One output stream's masker: write() chunks in, get masked chunks out (possibly none yet);
 * end() releases the rest. `onIdle` receives what an idle period releases.
 */
export class StreamMasker {
  /** Bytes already covered by a mask that was written (relative to pending). */
  private coverEnd = 0
  private idleTimer?: NodeJS.Timeout
  private pending: Buffer = Buffer.alloc(0)
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
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    this.writes++
    const out = this.drain('stream')
    if (this.onIdle && this.pending.length > 0 && !this.idleTimer) this.scheduleIdle(this.writes)
    return out
  }

  private drain(mode: Mode): Buffer[] {
    const {pending, set} = this
    // Bytes before emitTo are decided: no secret that could still be completed starts there.
    // Only a secret that began within the last maxLength-1 bytes can still be completed.
    const tail = Math.max(0, pending.length - set.maxLength + 1)
    const emitTo = mode === 'stream' ? tail : mode === 'idle' ? set.partialStart(pending, tail) : pending.length
    const out: Buffer[] = []
    let plainFrom = Math.min(this.coverEnd, pending.length)
    let {coverEnd} = this
    set.scan(pending, 0, emitTo, (start, end) => {
      if (start < coverEnd) {
        coverEnd = Math.max(coverEnd, end)
        plainFrom = Math.max(plainFrom, coverEnd)
        return
      }

      if (start > plainFrom) out.push(pending.subarray(plainFrom, start))
      out.push(MASK)
      coverEnd = end
      plainFrom = end
    })

    if (emitTo > plainFrom) out.push(pending.subarray(plainFrom, emitTo))
    // Copy the tail: keeping a view would pin the whole chunk it came from.
    this.pending = emitTo >= pending.length ? Buffer.alloc(0) : Buffer.from(pending.subarray(emitTo))
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
