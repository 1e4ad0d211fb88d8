/**
 * Over 300 lines on purpose: the automaton, its prefilter and the streaming masker share their
 * tables and the rule for which bytes are held back; they are read and changed together.
 *
 * Streaming secret masking for `keyflow run` (docs/run.md "Masking").
 *
 * Every byte that belongs to an occurrence of a secret is hidden; each maximal run of
 * overlapping occurrences becomes one MASK, so overlapping secrets and secrets that are
 * prefixes of each other leave no fragment behind. Everything else passes through byte for
 * byte (binary included), in order. A stream that ends inside a secret (its last bytes are
 * at least MIN_MASK_BYTES of some secret's beginning) has that tail masked too.
 *
 * Matching is an Aho–Corasick automaton over bytes, so its cost per byte does not depend on
 * the number of secrets, nor on how long a prefix they share. In front of it sits a sampling
 * filter: with m the length of the shortest secret, every secret's first m bytes hold the
 * 4-byte grams at a run of up to 64 offsets ending at m - 4 (fewer where the secrets share a
 * prefix), so one gram looked up every that-many bytes decides, for all the positions a secret
 * could start at and have it there, that none does, when the gram is in no secret (a bit set
 * over the grams' hashes). The
 * probes do not depend on each other, so the processor runs several at once, and each reads
 * its gram as one aligned 32-bit word (the run of offsets is a multiple of 4 long; under 7
 * bytes, where it cannot be, byte by byte). A gram found is checked again with the word on
 * either side (shortest secret of 11 bytes or more): a second bit set holds, for each gram the
 * first one does, the 8 bytes of the secret that are that gram and the word before it (or, in
 * the secret's first word, after it), and a probe finding neither of its 8 bytes there rules
 * out what the gram alone could not. Text in the secrets' own alphabet (base64 output, with the
 * base64 forms of the secrets) meets their 4-byte grams often, their 8 bytes almost never.
 * Only where a probe passes both does the automaton run, from the first position it leaves
 * open, until what may still be under way is too short to be a secret; then the probes take
 * over again.
 *
 * Memory is bounded: only the bytes that may still begin a secret (the automaton's current
 * depth, less than the longest secret) are held back; everything else is released at once,
 * so a prompt without a newline shows up without waiting.
 */

/* eslint-disable no-bitwise -- hashing over bytes is the filter itself */

export const MIN_MASK_BYTES = 4
export const MASK = Buffer.from('*****')
/**
 * Grams of 4 bytes (the shortest secret is one), each setting 2 bits of one 32-bit word of a
 * bit set of about 64 bits for every gram it holds, so that a probe finds both of its bits
 * set by chance about 1 time in 1,000; at most 2^22 bits (512 KiB: more often past 65,536
 * grams), at least 2^10.
 */
const GRAM = MIN_MASK_BYTES
const MAX_WORD_BITS = 17
const MIN_WORD_BITS = 5
const BITS_PER_GRAM_LOG2 = 6
/**
 * From this length of the shortest secret on, a gram found is checked with a word beside it
 * (gramFilters): each probed gram has 8 bytes of every secret around it, the word before it
 * from offset 4 on, the word after it below offset 4 (ending at offset 11 at most).
 */
const PAIR_MIN_LENGTH = 3 * GRAM - 1
/**
 * Offsets of the grams a probe can meet in each secret, so bytes between probes: the last ones
 * within the shortest length, up to 64, but where most secrets share a prefix with their
 * neighbour in byte order (URLs of one service; random values share a few bytes by chance, at
 * most SHARED_PREFIX_BYTES - 1), only those past it, if that leaves at least MIN_STRIDE: output
 * full of that prefix would meet its grams all the time.
 */
const MAX_STRIDE = 64
const MIN_STRIDE = 16
const SHARED_PREFIX_BYTES = 8
/** Whether an Int32Array reads bytes b0 b1 b2 b3 as b0 | b1 << 8 | b2 << 16 | b3 << 24. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1
/** States with at least this many edges get a full row of 256 transitions (the root always does). */
const DENSE_FANOUT = 8
const ROOT = 0

/** A gram's hash, from its word. */
const gramHash = (word: number) => Math.imul(word, 0x9e_37_79_b1)
/** The word of the gram starting at `at`, as an Int32Array on this machine reads it. */
const gramWord = (bytes: Uint8Array, at: number) =>
  LITTLE_ENDIAN ? bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24) : (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]
/** The hash of 8 bytes, as two words in the order of the bytes: `low` first. */
const pairHash = (low: number, high: number) => Math.imul(low ^ Math.imul(high ^ (high >>> 15), 0x85_eb_ca_6b), 0x9e_37_79_b1)
/** The 2 bits a gram's hash sets in its word: from a second mix, so they do not follow from the word's index. */
function gramBits(hash: number): number {
  const mixed = Math.imul(hash ^ (hash >>> 16), 0x85_eb_ca_6b)
  return (1 << (mixed >>> 27)) | (1 << ((mixed >>> 22) & 31))
}

const EMPTY = Buffer.alloc(0)
/**
 * A copy of `bytes` from `from` on: from Buffer's pool, with no view in between (a view is an
 * object of some 200 bytes; Buffer.copyBytesFrom allocates memory of its own every time).
 */
function copyFrom(bytes: Buffer, from: number): Buffer {
  const copy = Buffer.allocUnsafe(bytes.length - from)
  bytes.copy(copy, 0, from)
  return copy
}

/** Bytes [from, to) of `bytes`: itself when that is all of it. */
const part = (bytes: Buffer, from: number, to: number) => (from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to))
/** Printable ASCII: text whose UTF-8 bytes are its own characters. */
const PRINTABLE_ASCII = /^[ -~]*$/
const EMPTY_WORDS = new Int32Array(0)

/**
 * The secrets, one after another in one buffer: secret i is bytes[starts[i], starts[i + 1]).
 * One object for all of them, not a Buffer each: thousands of those, alive from the first
 * output until the automaton is built, made V8 grow its young generation for good.
 */
interface Patterns {
  bytes: Buffer
  starts: Int32Array
}

/**
 * The trie of the sorted secrets, as flat arrays: a new state for every byte past the prefix
 * shared with the previous secret, so each state's children come in byte order.
 */
function buildTrie({bytes, starts}: Patterns, maxLength: number) {
  const count = starts.length - 1
  const parent = new Int32Array(1 + bytes.length)
  const label = new Uint8Array(1 + bytes.length)
  const depth = new Int32Array(1 + bytes.length)
  const ends = new Uint8Array(1 + bytes.length)
  const path = new Int32Array(maxLength + 1)
  /** How many bytes each secret shares with the one before it. */
  const sharedPrefix = new Int32Array(count)
  let states = 1
  for (let at = 0; at < count; at++) {
    const start = starts[at]
    const length = starts[at + 1] - start
    const previous = at === 0 ? 0 : start - starts[at - 1]
    let shared = 0
    while (shared < previous && shared < length && bytes[start - previous + shared] === bytes[start + shared]) shared++
    sharedPrefix[at] = shared
    for (let index = shared; index < length; index++) {
      parent[states] = path[index]
      label[states] = bytes[start + index]
      depth[states] = index + 1
      path[index + 1] = states++
    }

    ends[path[length]] = 1
  }

  // The first one shares nothing, with nothing: the median of the others.
  const commonPrefix = count < 2 ? 0 : sharedPrefix.subarray(1).sort()[(count - 1) >> 1]
  return {commonPrefix, depth, ends, label, parent, states}
}

/** The trie's edges: state s's are edgeByte/edgeTarget[edgeStart[s], edgeStart[s + 1]), in byte order (buildTrie made them so). */
function edgesOf(parent: Int32Array, label: Uint8Array, states: number) {
  const edgeStart = new Int32Array(states + 1)
  for (let state = 1; state < states; state++) edgeStart[parent[state] + 1]++
  for (let state = 0; state < states; state++) edgeStart[state + 1] += edgeStart[state]
  const edgeByte = new Uint8Array(states - 1)
  const edgeTarget = new Int32Array(states - 1)
  const cursor = edgeStart.slice(0, states)
  for (let state = 1; state < states; state++) {
    const edge = cursor[parent[state]]++
    edgeByte[edge] = label[state]
    edgeTarget[edge] = state
  }

  return {edgeByte, edgeStart, edgeTarget}
}

/**
 * The probe filters: the bits of each gram at offsets [last - stride + 1, last] of every secret,
 * where last = shortest - GRAM, in the word its hash's top bits pick (`grams`); with `pairs`
 * (PAIR_MIN_LENGTH), those of the 8 bytes that are the gram and the word before it, or, for a
 * gram in the secret's first word, after it (`pairs`). `drop` says how many low bits of a hash
 * the index leaves out. Nothing to mask: no words at all.
 */
function gramFilters({bytes, starts}: Patterns, last: number, stride: number, pairs: boolean): {drop: number; grams: Int32Array; pairs: Int32Array} {
  const count = starts.length - 1
  if (count === 0) return {drop: 32, grams: EMPTY_WORDS, pairs: EMPTY_WORDS}
  const wordBits = Math.min(MAX_WORD_BITS, Math.max(MIN_WORD_BITS, Math.ceil(Math.log2(count * stride)) + BITS_PER_GRAM_LOG2 - 5))
  const drop = 32 - wordBits
  const filters = {drop, grams: new Int32Array(1 << wordBits), pairs: pairs ? new Int32Array(1 << wordBits) : EMPTY_WORDS}
  for (let index = 0; index < count; index++) {
    for (let at = starts[index] + last - stride + 1; at <= starts[index] + last; at++) {
      const gram = gramWord(bytes, at)
      const hash = gramHash(gram)
      filters.grams[hash >>> drop] |= gramBits(hash)
      if (!pairs) continue
      const pair = at - starts[index] >= GRAM ? pairHash(gramWord(bytes, at - GRAM), gram) : pairHash(gram, gramWord(bytes, at + GRAM))
      filters.pairs[pair >>> drop] |= gramBits(pair)
    }
  }

  return filters
}

/**
 * The secrets to mask, indexed once for any number of streams. The index (the automaton and
 * its filters: tens of milliseconds for thousands of values) is built when the first output
 * reaches scan(), so a command starts without waiting for it, and one that prints nothing
 * never pays for it.
 */
export class MaskSet {
  readonly maxLength: number
  readonly minLength: number
  readonly size: number
  private automaton: Automaton | undefined
  /**
   * The bytes of each distinct value of MIN_MASK_BYTES or more, as latin1 text (a character a
   * byte, so that comparing them compares the bytes), until the automaton is built from them.
   */
  private patterns: string[] | undefined

  constructor(values: Iterable<string | Uint8Array>) {
    const unique = new Set<string>()
    // A value's re-encodings often equal it (or each other): each distinct one is converted
    // once, and printable ASCII, most of them, is its own latin1 text (no Buffer for each).
    for (const value of new Set(values)) {
      const text = typeof value === 'string' && PRINTABLE_ASCII.test(value) ? value : Buffer.from(value).toString('latin1')
      if (text.length >= MIN_MASK_BYTES) unique.add(text)
    }

    this.patterns = [...unique]
    this.size = this.patterns.length
    let maxLength = 0
    let minLength = this.size === 0 ? 0 : Infinity
    for (const {length} of this.patterns) {
      maxLength = Math.max(maxLength, length)
      minLength = Math.min(minLength, length)
    }

    this.maxLength = maxLength
    this.minLength = minLength
  }

  /** How many of the last bytes seen in `state` may still begin a secret. */
  depthOf(state: number): number {
    return state === ROOT ? 0 : this.automaton!.depthOf(state)
  }

  /**
   * Feeds `buffer` to the automaton, starting in `state` (ROOT for a new stream), and returns
   * the state after it. `found(start, end)` gets the longest secret ending at each position,
   * relative to the buffer (start is negative for one that began in earlier buffers), in
   * order of `end`.
   */
  scan(buffer: Uint8Array, state: number, found: (start: number, end: number) => void): number {
    if (this.size === 0) return ROOT
    if (!this.automaton) {
      // In byte order: code units are bytes here, and a prefix sorts first, as Buffer.compare has it.
      const sorted = this.patterns!.sort()
      const starts = new Int32Array(sorted.length + 1)
      for (const [index, {length}] of sorted.entries()) starts[index + 1] = starts[index] + length
      this.automaton = new Automaton({bytes: Buffer.from(sorted.join(''), 'latin1'), starts}, this.minLength, this.maxLength)
      this.patterns = undefined
    }

    return this.automaton.scan(buffer, state, found)
  }
}

/** MaskSet's index: the Aho–Corasick automaton of the sorted patterns, and the filter in front of it. */
class Automaton {
  /** States by number (0 is the root): the length of the text they stand for. */
  private readonly depth: Int32Array
  /** Edges of state s: edgeByte/edgeTarget[edgeStart[s] .. edgeStart[s + 1]), sorted by byte. */
  private readonly edgeByte: Uint8Array
  private readonly edgeStart: Int32Array
  private readonly edgeTarget: Int32Array
  private readonly fail: Int32Array
  /** The probe filters' words (gramFilters), and how many low bits of a hash their index drops. */
  private readonly filter: Int32Array
  private readonly filterDrop: number
  /** The offset of the last gram of the shortest secret: a probe at p stands for starts from p - last. */
  private readonly last: number
  /** The length of the longest secret that ends the text of each state; 0 for none. */
  private readonly longest: Int32Array
  /** The second probe filter, for the 8 bytes around a gram found; none under PAIR_MIN_LENGTH. */
  private readonly pairs: Int32Array
  /** Where each state's full transition row starts in `rows`, or -1 for a sparse state. */
  private readonly rowOf: Int32Array
  private readonly rows: Int32Array
  /** How many starts each probe stands for, so how far apart probes are: a multiple of 4 (whole words), or under 4. */
  private readonly stride: number

  constructor(patterns: Patterns, minLength: number, maxLength: number) {
    const {commonPrefix, depth, ends, label, parent, states} = buildTrie(patterns, maxLength)
    this.last = minLength - GRAM
    const shared = commonPrefix >= SHARED_PREFIX_BYTES ? commonPrefix : 0
    const stride = Math.min(this.last + 1, MAX_STRIDE, Math.max(MIN_STRIDE, this.last + 1 - shared))
    this.stride = stride < 4 ? stride : stride & ~3
    const filters = gramFilters(patterns, this.last, this.stride, minLength >= PAIR_MIN_LENGTH)
    this.filter = filters.grams
    this.filterDrop = filters.drop
    this.pairs = filters.pairs

    // Each step a function of its own: this runs once, cold, and V8 optimizes a small loop
    // sooner, and compiles it faster, than one constructor holding them all.
    this.depth = depth.slice(0, states)
    const {edgeByte, edgeStart, edgeTarget} = edgesOf(parent, label, states)
    this.edgeByte = edgeByte
    this.edgeStart = edgeStart
    this.edgeTarget = edgeTarget
    this.rowOf = new Int32Array(states).fill(-1)
    let denseStates = 0
    for (let state = 0; state < states; state++) {
      if (state === ROOT || edgeStart[state + 1] - edgeStart[state] >= DENSE_FANOUT) this.rowOf[state] = 256 * denseStates++
    }

    this.rows = new Int32Array(256 * denseStates)
    this.fail = new Int32Array(states)
    this.longest = new Int32Array(states)
    this.link(parent, label, ends)
  }

  depthOf(state: number): number {
    return this.depth[state]
  }

  /** MaskSet.scan, over at least one pattern. */
  scan(buffer: Uint8Array, state: number, found: (start: number, end: number) => void): number {
    const {depth, edgeByte, edgeStart, edgeTarget, fail, last, longest, rowOf, rows, stride} = this
    const {byteOffset, length} = buffer
    const lastProbe = length - GRAM
    // Probes a whole number of words apart read word w, the gram at lead + 4w: aligned in memory.
    const lead = -byteOffset & 3
    const wordStride = stride >>> 2
    const grams = wordStride === 0 || length < lead ? EMPTY_WORDS : new Int32Array(buffer.buffer, byteOffset + lead, (length - lead) >>> 2)
    // Every secret starting before `at` is found already, when the state is ROOT.
    let at = 0
    while (at < length) {
      if (state === ROOT && wordStride !== 0) {
        // From the last probe at or before at + last: it stands for `at` (and up to 3 starts before).
        at = Math.max(at, lead + 4 * this.probeWords(grams, (at + last - lead) >> 2) - last)
      } else if (state === ROOT) {
        at = this.probeBytes(buffer, at + last) - last
      }

      // From here, byte by byte, until no secret of MIN_MASK_BYTES or more can be under way
      // before the last few bytes: the probes then resume where the oldest one could start.
      // (Rescanning those few bytes cannot find a secret twice: they are too short for one.)
      const entry = at
      for (;;) {
        const byte = buffer[at++]
        for (;;) {
          const row = rowOf[state]
          if (row !== -1) {
            state = rows[row + byte]
            break
          }

          let target = -1
          for (let edge = edgeStart[state], end = edgeStart[state + 1]; edge < end; edge++) {
            if (edgeByte[edge] === byte) {
              target = edgeTarget[edge]
              break
            }
          }

          if (target !== -1) {
            state = target
            break
          }

          state = fail[state]
        }

        const matched = longest[state]
        if (matched > 0) found(at - matched, at)
        if (at >= length) return state
        const live = depth[state]
        if (live < MIN_MASK_BYTES && at - live > entry && at - live + last <= lastProbe) {
          at -= live
          state = ROOT
          break
        }
      }
    }

    return state
  }

  /** Whether the pairs filter may hold the 8 bytes that are the words `low` and `high`. */
  private hasPair(low: number, high: number): boolean {
    const hash = pairHash(low, high)
    const bits = gramBits(hash)
    return (this.pairs[hash >>> this.filterDrop] & bits) === bits
  }

  /**
   * The failure links, the longest secret ending in each state, and the full rows, breadth first,
   * so that a state's failure link (always shallower) is known before its own.
   */
  private link(parent: Int32Array, label: Uint8Array, ends: Uint8Array): void {
    const {depth, edgeByte, edgeStart, edgeTarget, fail, longest, rowOf, rows} = this
    const order = new Int32Array(depth.length)
    let queued = 1
    for (let index = 0; index < queued; index++) {
      const state = order[index]
      if (state !== ROOT) {
        fail[state] = parent[state] === ROOT ? ROOT : this.next(fail[parent[state]], label[state])
        longest[state] = ends[state] ? depth[state] : longest[fail[state]]
      }

      const row = rowOf[state]
      if (row !== -1 && state !== ROOT) {
        // The failure state is shallower, so built already: its full row, when it has one, is
        // this row before this state's own edges. (The root's row is all ROOT, 0, as allocated.)
        const failRow = rowOf[fail[state]]
        if (failRow === -1) for (let byte = 0; byte < 256; byte++) rows[row + byte] = this.next(fail[state], byte)
        else rows.copyWithin(row, failRow, failRow + 256)
      }

      for (let edge = edgeStart[state]; edge < edgeStart[state + 1]; edge++) {
        if (row !== -1) rows[row + edgeByte[edge]] = edgeTarget[edge]
        order[queued++] = edgeTarget[edge]
      }
    }
  }

  /** The state after `byte` in `state`, following failure links (only while building). */
  private next(state: number, byte: number): number {
    for (;;) {
      const row = this.rowOf[state]
      if (row !== -1) return this.rows[row + byte]
      for (let edge = this.edgeStart[state]; edge < this.edgeStart[state + 1]; edge++) {
        if (this.edgeByte[edge] === byte) return this.edgeTarget[edge]
      }

      state = this.fail[state]
    }
  }

  /** probeWords for probes under a word apart, reading grams byte by byte: the first that finds its gram, or one past the last. */
  private probeBytes(bytes: Uint8Array, probe: number): number {
    const {filter, filterDrop, stride} = this
    for (; probe <= bytes.length - GRAM; probe += stride) {
      const hash = gramHash(gramWord(bytes, probe))
      const bits = gramBits(hash)
      if ((filter[hash >>> filterDrop] & bits) === bits) break
    }

    return probe
  }

  /**
   * The first of the probes from word `word` on (stride / 4 words apart) that finds its gram
   * and, with the pairs filter, the 8 bytes on one side of it, or one past the last word. With
   * pairs (last >= 7) the probes start at word 1 or later, so there is always a word before;
   * the word after the last one is unknown, so that probe passes.
   */
  private probeWords(grams: Int32Array, word: number): number {
    const {filter, filterDrop, pairs, stride} = this
    const wordStride = stride >>> 2
    const paired = pairs.length > 0
    for (; word < grams.length; word += wordStride) {
      const gram = grams[word]
      const hash = gramHash(gram)
      const bits = gramBits(hash)
      if ((filter[hash >>> filterDrop] & bits) !== bits) continue
      if (!paired || this.hasPair(grams[word - 1], gram) || word + 1 === grams.length || this.hasPair(gram, grams[word + 1])) break
    }

    return word
  }
}

/**
 * One output stream's masker: write() chunks in, get masked chunks out (possibly none yet);
 * end() releases the rest. Output is views of the chunks written (no copy), and MASK.
 */
export class StreamMasker {
  /** Stream offset just past the last emitted mask: a secret starting before it only widens it. */
  private coverEnd = 0
  /** The unemitted bytes before the current chunk, and those of a secret that may be under way: [offset - held.length, offset). */
  private held: Buffer = EMPTY
  /** Stream offset of the end of everything written so far. */
  private offset = 0
  /** One callback for every scan (a closure a chunk would be garbage a chunk). */
  private readonly onFound = (start: number, end: number) => this.found(this.scanned + start, this.scanned + end)
  /** Found secrets not yet emitted, as flat [start, end] pairs of stream offsets: merged, in order. */
  private pending: number[] = []
  /** Stream offset of the first byte neither emitted nor covered by an emitted mask. */
  private plainFrom = 0
  /** Stream offset of the buffer being scanned, which found() positions are relative to. */
  private scanned = 0
  private state = ROOT

  constructor(private set: MaskSet) {}

  /** The set this stream masks with now. */
  get masks(): MaskSet {
    return this.set
  }

  end(): Buffer[] {
    const tail = this.set.depthOf(this.state)
    if (tail >= MIN_MASK_BYTES) this.found(this.offset - tail, this.offset)
    const out = this.emit(this.offset, EMPTY)
    this.state = ROOT
    return out
  }

  /**
   * Masks with `set` from here on (a secret rotated while the stream runs). `set` must hold
   * every secret of the current one: what is held back is scanned again from its start, which
   * finds again what was pending and picks up where a secret may be under way.
   */
  use(set: MaskSet): void {
    this.set = set
    this.pending = []
    this.scanned = this.offset - this.held.length
    this.state = set.scan(this.held, ROOT, this.onFound)
  }

  write(chunk: Buffer): Buffer[] {
    this.scanned = this.offset
    this.state = this.set.scan(chunk, this.state, this.onFound)
    this.offset += chunk.length
    return this.emit(this.offset - this.set.depthOf(this.state), chunk)
  }

  /**
   * Emits everything before `safe` (no secret can begin there any more), masks included, and
   * keeps a copy of the rest: a view would pin the whole chunk it came from.
   */
  private emit(safe: number, chunk: Buffer): Buffer[] {
    const {held} = this
    const heldStart = this.offset - chunk.length - held.length
    const out: Buffer[] = []
    let done = 0
    const {pending} = this
    // A secret starting at or before `safe` can only be widened by what comes later.
    for (; done < pending.length && pending[done] <= safe; done += 2) {
      if (pending[done] > this.plainFrom) this.plain(out, chunk, this.plainFrom, pending[done])
      out.push(MASK)
      this.coverEnd = pending[done + 1]
      this.plainFrom = Math.max(this.plainFrom, this.coverEnd)
    }

    if (done > 0) pending.splice(0, done)
    if (safe > this.plainFrom) {
      this.plain(out, chunk, this.plainFrom, safe)
      this.plainFrom = safe
    }

    // Kept from where a secret may be under way, even inside an emitted mask, so that use() can
    // rebuild the automaton's state from the bytes themselves.
    const keep = Math.min(this.plainFrom, safe) - heldStart
    if (keep < held.length) this.held = Buffer.concat([held.subarray(keep), chunk])
    else this.held = keep - held.length === chunk.length ? EMPTY : copyFrom(chunk, keep - held.length)
    return out
  }

  private found(start: number, end: number): void {
    const {pending} = this
    if (start < this.coverEnd) {
      // Overlaps the mask already emitted: it widens it, swallowing everything found since.
      this.coverEnd = Math.max(this.coverEnd, end)
      this.plainFrom = Math.max(this.plainFrom, this.coverEnd)
      pending.length = 0
      return
    }

    // Ends come in order, so only the last pending secrets can overlap this one.
    while (pending.length > 0 && pending.at(-1)! > start) {
      start = Math.min(start, pending.at(-2)!)
      pending.length -= 2
    }

    pending.push(start, end)
  }

  /** Pushes the stream's bytes [from, to), of the held bytes and `chunk` after them, onto `out`: whole buffers where they can be. */
  private plain(out: Buffer[], chunk: Buffer, from: number, to: number): void {
    const {held} = this
    const chunkStart = this.offset - chunk.length
    const heldStart = chunkStart - held.length
    if (from < chunkStart) out.push(part(held, from - heldStart, Math.min(to, chunkStart) - heldStart))
    if (to > chunkStart) out.push(part(chunk, Math.max(from, chunkStart) - chunkStart, to - chunkStart))
  }
}
