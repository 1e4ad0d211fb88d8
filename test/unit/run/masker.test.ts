import {expect} from 'chai'
import * as fc from 'fast-check'
import {describe, it} from 'mocha'
import {randomBytes} from 'node:crypto'

import {maskForms} from '../../../src/lib/run/encodings.js'
import {MASK, MaskSet, MIN_MASK_BYTES, StreamMasker} from '../../../src/lib/run/masker.js'

/** The specification, whole-buffer: every byte of every occurrence is hidden; overlapping occurrences become one mask. */
function referenceMask(input: Buffer, secrets: Array<string | Uint8Array>): Buffer {
  const intervals: Array<[number, number]> = []
  for (const secret of secrets) {
    const bytes = Buffer.from(secret)
    if (bytes.length < MIN_MASK_BYTES) continue
    for (let at = input.indexOf(bytes); at !== -1; at = input.indexOf(bytes, at + 1)) intervals.push([at, at + bytes.length])
  }

  // A stream that ends inside a secret: the longest tail that begins one, if not too short to mask.
  let tail = 0
  for (const secret of secrets) {
    const bytes = Buffer.from(secret)
    if (bytes.length < MIN_MASK_BYTES) continue
    for (let length = Math.min(bytes.length, input.length); length > tail; length--) {
      if (input.subarray(input.length - length).equals(bytes.subarray(0, length))) tail = length
    }
  }

  if (tail >= MIN_MASK_BYTES) intervals.push([input.length - tail, input.length])
  intervals.sort((a, b) => a[0] - b[0])
  const out: Buffer[] = []
  let position = 0
  let runEnd = -1
  for (const [start, end] of intervals) {
    if (start < runEnd) {
      runEnd = Math.max(runEnd, end)
      continue
    }

    if (runEnd > position) position = runEnd
    out.push(input.subarray(position, start), MASK)
    runEnd = end
    position = start
  }

  out.push(input.subarray(Math.max(position, runEnd)))
  return Buffer.concat(out)
}

/** Masks chunk by chunk. */
function streamMask(chunks: Buffer[], secrets: Array<string | Uint8Array>): Buffer {
  const masker = new StreamMasker(new MaskSet(secrets))
  const out: Buffer[] = []
  for (const chunk of chunks) out.push(...masker.write(chunk))

  out.push(...masker.end())
  return Buffer.concat(out)
}

function split(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let from = 0
  for (const point of points) {
    chunks.push(input.subarray(from, point))
    from = point
  }

  chunks.push(input.subarray(from))
  return chunks
}

const same = (a: Buffer, b: Buffer) => a.equals(b)

/**
 * The property: output made of noise, whole secrets and slices of them (up to `secretLength`
 * bytes in), cut anywhere, is masked as the reference masks it whole.
 */
function matchesReference(options: {
  cuts: {count: number; max: number}
  noise: fc.Arbitrary<string>
  pieces: number
  runs: number
  secretLength: number
  secrets: fc.Arbitrary<string[]>
}): void {
  const {cuts, noise, pieces, runs, secretLength, secrets} = options
  fc.assert(
    fc.property(
      secrets,
      fc.array(fc.oneof(noise, fc.nat(1000), fc.tuple(fc.nat(1000), fc.nat(secretLength), fc.nat(secretLength))), {maxLength: pieces}),
      fc.array(fc.nat(cuts.max), {maxLength: cuts.count}),
      (values, parts, at) => {
        const piece = (part: [number, number, number] | number | string) => {
          if (typeof part === 'string') return part
          if (typeof part === 'number') return values[part % values.length]
          const secret = values[part[0] % values.length]
          return secret.slice(part[1] % secret.length, part[1] % secret.length + part[2])
        }

        const input = Buffer.from(parts.map((part) => piece(part)).join(''))
        return same(streamMask(split(input, at), values), referenceMask(input, values))
      },
    ),
    {numRuns: runs},
  )
}

/** Whether `secret` (or a tail of the stream that begins it) starts before `limit`. */
function beganBefore(input: Buffer, secret: string, limit: number): boolean {
  const bytes = Buffer.from(secret)
  for (let at = 0; at < limit; at++) {
    const seen = input.subarray(at, at + bytes.length)
    if ((seen.length === bytes.length || seen.length >= MIN_MASK_BYTES) && bytes.subarray(0, seen.length).equals(seen)) return true
  }

  return false
}

describe('run masker', () => {
  it('masks a secret split across two writes at every offset', () => {
    const secret = 'kf-s3cr3t-value-0123'
    const input = Buffer.from(`before ${secret} after\n`)
    for (let cut = 0; cut <= input.length; cut++) {
      const out = streamMask([input.subarray(0, cut), input.subarray(cut)], [secret])
      expect(out.toString(), `split at ${cut}`).to.equal('before ***** after\n')
    }
  })

  it('masks a secret written one byte at a time', () => {
    const secret = 'one-byte-at-a-time-secret'
    const input = Buffer.from(`x${secret}y${secret}`)
    const out = streamMask([...input].map((byte) => Buffer.from([byte])), [secret])
    expect(out.toString()).to.equal('x*****y*****')
  })

  it('masks hundreds of secrets in output cut into small pieces', () => {
    const secrets = Array.from({length: 500}, (_, index) => `${randomBytes(6 + (index % 20)).toString('hex')}`)
    const input = Buffer.from(secrets.map((secret, index) => `line ${index}: ${secret} done\n`).join(''))
    const chunks = split(input, Array.from({length: 2000}, (_, index) => index * 7))
    const out = streamMask(chunks, secrets)
    expect(same(out, referenceMask(input, secrets))).to.equal(true)
    const text = out.toString()
    expect(secrets.some((secret) => text.includes(secret))).to.equal(false)
    expect(text.split('\n').every((line) => line === '' || /^line \d+: \*{5} done$/.test(line))).to.equal(true)
  })

  it('hides overlapping secrets as one mask, leaving no fragment', () => {
    expect(streamMask([Buffer.from('xxabcdefghiyy')], ['abcdef', 'defghi']).toString()).to.equal('xx*****yy')
    expect(streamMask([Buffer.from('xxabcdefghiyy')], ['defghi', 'abcdef']).toString()).to.equal('xx*****yy')
  })

  it('masks the longer of two secrets that are prefixes of each other', () => {
    const secrets = ['abcd', 'abcdefgh']
    expect(streamMask([Buffer.from('[abcdefgh]')], secrets).toString()).to.equal('[*****]')
    expect(streamMask([Buffer.from('[abcdxyz]')], secrets).toString()).to.equal('[*****xyz]')
    expect(streamMask([Buffer.from('[abcdef'), Buffer.from('gh]')], secrets).toString()).to.equal('[*****]')
  })

  it('masks multi-byte UTF-8 secrets split inside a character', () => {
    const secret = 'pässwörd✓ñ'
    const input = Buffer.from(`» ${secret} «`)
    for (let cut = 0; cut <= input.length; cut++) {
      expect(streamMask([input.subarray(0, cut), input.subarray(cut)], [secret]).toString()).to.equal('» ***** «')
    }
  })

  it('passes binary output through byte for byte apart from the secret', () => {
    const secret = randomBytes(16)
    const noise = randomBytes(100_000)
    const input = Buffer.concat([noise.subarray(0, 50_000), secret, Buffer.from([0, 255, 0]), noise.subarray(50_000)])
    const out = streamMask(split(input, [1, 4096, 49_999, 50_010, 65_536]), [secret])
    expect(same(out, referenceMask(input, [secret]))).to.equal(true)
    expect(out.includes(secret)).to.equal(false)
  })

  it('passes output without secrets through unchanged', () => {
    const input = randomBytes(300_000)
    expect(same(streamMask(split(input, [17, 70_000, 200_001]), ['never-appears-here']), input)).to.equal(true)
  })

  it(`leaves values shorter than ${MIN_MASK_BYTES} bytes unmasked`, () => {
    const set = new MaskSet(['abc', 'é', ''])
    expect(set.size).to.equal(0)
    expect(streamMask([Buffer.from('abc é')], ['abc', 'é']).toString()).to.equal('abc é')
  })

  it('holds back at most the longest secret minus one byte', () => {
    const masker = new StreamMasker(new MaskSet(['a-secret-of-24-bytes-xyz', 'short']))
    let held = 0
    let written = 0
    let emitted = 0
    for (let index = 0; index < 200; index++) {
      const chunk = randomBytes(1000).map((byte) => (byte % 2 === 0 ? 0x2e : 0x2c))
      written += chunk.length
      emitted += masker.write(Buffer.from(chunk)).reduce((sum, out) => sum + out.length, 0)
      held = Math.max(held, written - emitted)
    }

    expect(held).to.be.at.most(23)
  })

  it('releases at once every byte that cannot begin a secret (a prompt shows up without waiting)', () => {
    const masker = new StreamMasker(new MaskSet(['prompt-secret-value']))
    expect(Buffer.concat(masker.write(Buffer.from('Password: '))).toString()).to.equal('Password: ')
    expect(Buffer.concat(masker.write(Buffer.from('next prompt-sec'))).toString()).to.equal('next ')
    const rest = [...masker.write(Buffer.from('ret-value!')), ...masker.end()]
    expect(Buffer.concat(rest).toString()).to.equal('*****!')
  })

  it('masks the tail of a stream that ends in the middle of a secret', () => {
    const secret = 'kf-cut-short-secret-value'
    for (let cut = MIN_MASK_BYTES; cut < secret.length; cut++) {
      const out = streamMask([Buffer.from(`token=${secret.slice(0, cut)}`)], [secret]).toString()
      expect(out, `cut after ${cut} bytes`).to.equal('token=*****')
    }

    expect(streamMask([Buffer.from('ends with kf-')], [secret]).toString()).to.equal('ends with kf-')
  })

  it('masks 1,000 secrets sharing a long prefix, in output full of that prefix', () => {
    const prefix = 'https://hooks.example.com/services/T0000/B0000/'
    const secrets = Array.from({length: 1000}, () => `${prefix}${randomBytes(12).toString('hex')}`)
    const lines = Array.from({length: 3000}, (_, index) => (index % 3 === 0 ? `posted to ${secrets[index % 1000]}\n` : `see ${prefix}${randomBytes(12).toString('hex')} ${prefix.slice(0, index % prefix.length)}\n`))
    const input = Buffer.from(lines.join(''))
    const out = streamMask(split(input, Array.from({length: 300}, (_, index) => index * 977)), secrets)
    expect(same(out, referenceMask(input, secrets))).to.equal(true)
    expect(out.toString().split('posted to *****\n').length).to.equal(1001)
  })

  it('matches the whole-buffer specification for any secrets, output and chunking (property)', () => {
    const alphabet = fc.constantFrom(...'abcdé\n\0')
    const secretArb = fc.array(alphabet, {maxLength: 10, minLength: 1}).map((chars) => chars.join(''))
    fc.assert(
      fc.property(
        fc.array(secretArb, {maxLength: 8, minLength: 1}),
        fc.array(fc.oneof(secretArb, fc.nat(7)), {maxLength: 30}),
        fc.array(fc.nat(400), {maxLength: 12}),
        (secrets, pieces, cuts) => {
          const input = Buffer.from(pieces.map((piece) => (typeof piece === 'number' ? secrets[piece % secrets.length] : piece)).join(''))
          return same(streamMask(split(input, cuts), secrets), referenceMask(input, secrets))
        },
      ),
      {numRuns: 2000},
    )
  })

  it('matches the specification on binary secrets and output (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({maxLength: 9, minLength: 4}), {maxLength: 5, minLength: 1}),
        fc.array(fc.oneof(fc.uint8Array({maxLength: 6}), fc.nat(4)), {maxLength: 20}),
        fc.array(fc.nat(200), {maxLength: 8}),
        (secrets, pieces, cuts) => {
          const input = Buffer.concat(pieces.map((piece) => (typeof piece === 'number' ? secrets[piece % secrets.length] : piece)))
          return same(streamMask(split(input, cuts), secrets), referenceMask(input, secrets))
        },
      ),
      {numRuns: 1500},
    )
  })

  it('matches the specification where the probes skip most of the output: long secrets, near misses, many cuts (property)', () => {
    // Secrets long enough for probes far apart (20 bytes or more); pieces of them cut anywhere (near misses,
    // which the probes' grams meet), and noise whose grams are in few secrets or none.
    const secretArb = fc.array(fc.constantFrom(...'abcdefghijklmnop'), {maxLength: 70, minLength: 20}).map((chars) => chars.join(''))
    const noiseArb = fc.array(fc.constantFrom(...'abxyz \n'), {maxLength: 60, minLength: 1}).map((chars) => chars.join(''))
    matchesReference({cuts: {count: 16, max: 5000}, noise: noiseArb, pieces: 60, runs: 1500, secretLength: 70, secrets: fc.array(secretArb, {maxLength: 12, minLength: 1})})
  })

  it('matches the specification around the length where a found gram is checked with the word beside it (property)', () => {
    // Shortest secrets of 10 to 13 bytes, the edge of that check (11), over few letters, so that the
    // output's grams are found often and the 8 bytes around them decide; secrets and pieces of them at
    // every offset from the probes, the stream cut anywhere.
    const secretArb = fc.array(fc.constantFrom(...'abcdef'), {maxLength: 16, minLength: 10}).map((chars) => chars.join(''))
    const noiseArb = fc.string({maxLength: 9, unit: fc.constantFrom(...'abcdefz\n')})
    matchesReference({cuts: {count: 12, max: 3000}, noise: noiseArb, pieces: 80, runs: 3000, secretLength: 16, secrets: fc.array(secretArb, {maxLength: 10, minLength: 1})})
  })

  it('masks secrets of 10 to 12 bytes at every offset from the probes, whole or cut anywhere', () => {
    // From 11 bytes a found gram is checked with the word on one side of it, which the 8 bytes of each
    // secret around each gram, taken right, always hold.
    for (const secret of ['k3y-10-byt', 'k3y-11-byte', 'k3y-12-bytes']) {
      for (let offset = 0; offset < 24; offset++) {
        const input = Buffer.from(`${'.'.repeat(offset)}${secret}+${'.'.repeat(30)}`)
        const expected = `${'.'.repeat(offset)}*****+${'.'.repeat(30)}`
        expect(streamMask([input], [secret]).toString(), `${secret.length} bytes at ${offset}`).to.equal(expected)
        for (let cut = 1; cut < input.length; cut += 5) expect(streamMask([input.subarray(0, cut), input.subarray(cut)], [secret]).toString()).to.equal(expected)
      }
    }
  })

  it('masks 300 tokens and their base64 forms (as run builds them) in base64 output, read in pipe-sized chunks', () => {
    // The output is made of the forms' alphabet, so their 4-byte grams are everywhere in it; their 8 bytes are not.
    const tokens = Array.from({length: 300}, (_, index) => randomBytes(12 + (index % 24)).toString('base64url'))
    const secrets = tokens.flatMap((token) => maskForms(token, ['base64']))
    const lines = Array.from({length: 20_000}, (_, index) =>
      index % 50 === 0 ? `${Buffer.from(`Basic ${'ops:'.slice(index % 3)}${tokens[index % tokens.length]}`).toString('base64')}\n` : `${randomBytes(57).toString('base64')}\n`,
    )
    const input = Buffer.from(lines.join(''))
    const cuts = Array.from({length: Math.ceil(input.length / 65_536)}, (_, index) => index * 65_536 + (index % 7))
    const out = streamMask(split(input, cuts), secrets)
    expect(same(out, referenceMask(input, secrets))).to.equal(true)
    expect(out.toString().split('*****').length).to.be.greaterThan(400)
  })

  it('keeps masking a secret under way across use(), even one that began inside an emitted mask', () => {
    // "abcd" is masked at once; "cdab", begun inside it, ends after the switch: no fragment of it shows.
    const masker = new StreamMasker(new MaskSet(['abcd', 'cdab']))
    const out = [...masker.write(Buffer.from('xabcd'))]
    masker.use(new MaskSet(['abcd', 'cdab', 'wxyz1234']))
    out.push(...masker.write(Buffer.from('ab wxyz1234 y')), ...masker.end())
    expect(Buffer.concat(out).toString()).to.equal('x***** ***** y')
  })

  it('follows a wider set from the middle of a stream (use), as if it had masked with it from the start (property)', () => {
    const alphabet = fc.constantFrom(...'abcd\n')
    const secretArb = fc.array(alphabet, {maxLength: 8, minLength: 4}).map((chars) => chars.join(''))
    fc.assert(
      fc.property(
        fc.array(secretArb, {maxLength: 4, minLength: 1}),
        fc.array(secretArb, {maxLength: 3, minLength: 1}),
        fc.array(fc.oneof(secretArb, fc.nat(6)), {maxLength: 24}),
        fc.array(fc.nat(300), {maxLength: 10}),
        fc.nat(10),
        // eslint-disable-next-line max-params -- one per generated input
        (old, added, pieces, cuts, switchAt) => {
          const all = [...old, ...added]
          const input = Buffer.from(pieces.map((piece) => (typeof piece === 'number' ? all[piece % all.length] : piece)).join(''))
          const chunks = split(input, cuts)
          const at = switchAt % (chunks.length + 1)
          const limit = chunks.slice(0, at).reduce((sum, chunk) => sum + chunk.length, 0)
          // An added secret cannot have begun before the switch: the command learns it only after.
          fc.pre(!added.some((secret) => !old.includes(secret) && beganBefore(input, secret, limit)))
          const masker = new StreamMasker(new MaskSet(old))
          const out: Buffer[] = []
          for (const [index, chunk] of chunks.entries()) {
            if (index === at) masker.use(new MaskSet(all))
            out.push(...masker.write(chunk))
          }

          if (at === chunks.length) masker.use(new MaskSet(all))
          out.push(...masker.end())
          return same(Buffer.concat(out), referenceMask(input, all))
        },
      ),
      {numRuns: 2000},
    )
  })
})
