import {expect} from 'chai'
import {describe, it} from 'mocha'
import {randomBytes} from 'node:crypto'

import {utf8Text} from '../../../src/lib/util/utf8.js'

/** What env files and `secret set` values were read with before: a fatal TextDecoder. */
function fatalDecode(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf8', {fatal: true}).decode(bytes)
  } catch {
    return undefined
  }
}

describe('utf8Text', () => {
  const cases: Array<[string, number[]]> = [
    ['empty', []],
    ['plain text', [...Buffer.from('A=1\nB=2\n')]],
    ['a BOM', [0xef, 0xbb, 0xbf, 0x41]],
    ['two BOMs (only the first is dropped)', [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x41]],
    ['a BOM alone', [0xef, 0xbb, 0xbf]],
    ['a BOM not at the start', [0x41, 0xef, 0xbb, 0xbf]],
    ['four-byte characters', [...Buffer.from('k=🔑')]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['a lone continuation byte', [0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xFF', [0x41, 0xff]],
  ]
  for (const [name, bytes] of cases) {
    it(`reads ${name} as a fatal TextDecoder does`, () => {
      expect(utf8Text(Uint8Array.from(bytes))).to.equal(fatalDecode(Uint8Array.from(bytes)))
    })
  }

  it('agrees with a fatal TextDecoder on 2,000 random byte strings, valid and not', () => {
    for (let index = 0; index < 2000; index++) {
      // Half of them valid UTF-8 text (random code points), half random bytes.
      const bytes = index % 2 === 0 ? Buffer.from(String.fromCodePoint(...Array.from({length: 8}, () => Math.floor(Math.random() * 0xd7_ff)))) : randomBytes(index % 17)
      expect(utf8Text(bytes), bytes.toString('hex')).to.equal(fatalDecode(bytes))
    }
  })

  it('reads a view into a larger buffer, not the whole buffer', () => {
    const whole = Buffer.from('xxA=1yy')
    expect(utf8Text(whole.subarray(2, 5))).to.equal('A=1')
  })
})
