import {expect} from 'chai'

import {displayWidth, relativeTime} from '../../../src/lib/output/table.js'

describe('output: tables', () => {
  it("relativeTime says what Intl.RelativeTimeFormat('en', {numeric: 'auto'}) says, past and future, every unit", () => {
    const formatter = new Intl.RelativeTimeFormat('en', {numeric: 'auto'})
    const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
      ['year', 365 * 24 * 3600],
      ['month', 30 * 24 * 3600],
      ['week', 7 * 24 * 3600],
      ['day', 24 * 3600],
      ['hour', 3600],
      ['minute', 60],
    ]
    const now = Date.parse('2026-06-15T12:00:00Z')
    const offsets = [60, 61, 89, 90, 3599, 3600, 5399, 5400, 86_399, 86_400, 129_599, 129_600, 6 * 86_400, 604_800, 1_000_000, 2_591_999, 2_592_000, 4e6, 31_535_999, 31_536_000, 5e7, 1e9, 4e10]
    for (const offset of offsets) {
      for (const sign of [-1, 1]) {
        const seconds = sign * offset
        const [unit, size] = units.find(([, length]) => offset >= length)!
        const iso = new Date(now + seconds * 1000).toISOString()
        expect(relativeTime(iso, now), `${seconds} s`).to.equal(formatter.format(Math.round(seconds / size), unit))
      }
    }

    expect(relativeTime(new Date(now - 59_000).toISOString(), now)).to.equal('just now')
    expect(relativeTime('not a date', now)).to.equal('not a date')
  })

  it('displayWidth counts terminal columns: ASCII by its length, wide and zero-width characters as string-width does', () => {
    expect(displayWidth('secret/api-token')).to.equal(16)
    expect(displayWidth('')).to.equal(0)
    expect(displayWidth('日本')).to.equal(4)
    expect(displayWidth('e\u0301')).to.equal(1)
    expect(displayWidth('\u001B[31mred\u001B[0m')).to.equal(3)
  })
})
