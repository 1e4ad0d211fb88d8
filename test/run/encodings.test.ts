import {expect} from 'chai'
import * as fc from 'fast-check'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {MASK_ENCODINGS, MaskEncoding, maskForms, MIN_ENCODED_BYTES, parseMaskEncodings} from '../../src/lib/run/encodings.js'
import {MASK, MaskSet, StreamMasker} from '../../src/lib/run/masker.js'
import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'

function mask(text: string, secret: string, encodings: readonly MaskEncoding[] = MASK_ENCODINGS): string {
  const masker = new StreamMasker(new MaskSet(maskForms(secret, encodings)))
  return Buffer.concat([...masker.write(Buffer.from(text)), ...masker.end()]).toString('latin1')
}

/** Percent-encoding as Python's quote and Go's QueryEscape write it: encodeURIComponent's, with !'()* escaped too. */
const strictPercent = (text: string) => encodeURIComponent(text).replaceAll(/[!'()*]/g, (char) => `%${char.codePointAt(0)!.toString(16).toUpperCase()}`)
/** JSON string content as Python's json.dumps writes it: everything outside ASCII as \u escapes of UTF-16 code units. */
// eslint-disable-next-line unicorn/prefer-code-point -- JSON escapes UTF-16 code units, not code points
const asciiJson = (text: string) => JSON.stringify(text).slice(1, -1).replaceAll(/[\u0080-\uFFFF]/g, (unit) => String.raw`\u` + unit.charCodeAt(0).toString(16).padStart(4, '0'))

describe('run masker: re-encodings', () => {
  it('masks every base64 offset, leaving at most the characters shared with the neighbours (property)', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 40, minLength: MIN_ENCODED_BYTES, unit: 'grapheme'}), fc.uint8Array({maxLength: 7}), fc.uint8Array({maxLength: 7}), fc.boolean(), (secret, before, after, urlSafe) => {
        let encoded = Buffer.concat([before, Buffer.from(secret), after]).toString('base64')
        if (urlSafe) encoded = encoded.replaceAll('+', '-').replaceAll('/', '_')
        const out = new StreamMasker(new MaskSet(maskForms(secret, ['base64'])))
        const masked = Buffer.concat([...out.write(Buffer.from(encoded)), ...out.end()]).toString()
        // The right end may also hold one shared character and == padding. A repetitive secret can also match, re-encoded, in its neighbours: more masks, never fewer.
        const pieces = masked.split(MASK.toString())
        const [left, right] = [pieces[0], pieces.at(-1)!]
        return pieces.length >= 2 && encoded.startsWith(left) && encoded.endsWith(right) && left.length <= Math.ceil((8 * before.length) / 6) && right.length <= Math.ceil((8 * after.length) / 6) + 3
      }),
      {numRuns: 500},
    )
  })

  it(String.raw`masks JSON-escaped forms: quotes, backslashes, control characters, \u escapes, escaped slashes`, () => {
    const secret = 'p"a\\s/s\twörd✓😀'
    expect(mask(JSON.stringify({password: secret}), secret)).to.equal('{"password":"*****"}')
    expect(mask(`{"password": "${asciiJson(secret)}"}`, secret)).to.equal('{"password": "*****"}')
    expect(mask(JSON.stringify(secret).replaceAll('/', String.raw`\/`), secret)).to.equal('"*****"')
  })

  it('masks URL-encoded forms: encodeURIComponent, strict percent-encoding, form encoding', () => {
    const secret = "s3cr3t (it's) *100%* + more"
    expect(mask(`GET /cb?token=${encodeURIComponent(secret)}&x=1`, secret)).to.equal('GET /cb?token=*****&x=1')
    const strict = strictPercent(secret)
    expect(mask(`q=${strict}`, secret)).to.equal('q=*****')
    expect(mask(`q=${strict.replaceAll('%20', '+')}`, secret)).to.equal('q=*****')
  })

  it('gives the forms real encoders write, for plain tokens (no form differs from the value) and any other text (property)', () => {
    // Mostly token characters, so that a text with one character the shortcuts must not skip is common.
    const unit = fc.oneof(
      {arbitrary: fc.constantFrom(...'abcXYZ019_-.~'), weight: 12},
      {arbitrary: fc.constantFrom(...' !"#%&\'()*+/:;<=>?@[\\]^`{|}\t\n\u007F'), weight: 1},
      {arbitrary: fc.string({maxLength: 1, minLength: 1, unit: 'grapheme'}), weight: 1},
    )
    fc.assert(
      fc.property(fc.string({maxLength: 24, minLength: MIN_ENCODED_BYTES, unit}), (secret) => {
        const forms = new Set(maskForms(secret, ['json', 'url']))
        const json = JSON.stringify(secret).slice(1, -1)
        const expected = [secret, encodeURIComponent(secret), strictPercent(secret), strictPercent(secret).replaceAll('%20', '+'), json, asciiJson(secret), json.replaceAll('/', String.raw`\/`)]
        return expected.every((form) => forms.has(form)) && [...forms].every((form) => expected.includes(form))
      }),
      {numRuns: 1000},
    )
  })

  it(`adds no encodings for values under ${MIN_ENCODED_BYTES} bytes, and none with "none"`, () => {
    expect(maskForms('abc=def', MASK_ENCODINGS)).to.deep.equal(['abc=def'])
    expect(parseMaskEncodings('none', '--mask-encodings')).to.deep.equal([])
    expect(parseMaskEncodings('json, base64', '--mask-encodings')).to.deep.equal(['json', 'base64'])
    expect(parseMaskEncodings(['url'], 'run.maskEncodings')).to.deep.equal(['url'])
    expect(() => parseMaskEncodings('json,hex', '--mask-encodings')).to.throw('"hex"')
    expect(() => parseMaskEncodings('', '--mask-encodings')).to.throw('mask encoding')
    const secret = 'abcdefgh-secret'
    expect(mask(Buffer.from(secret).toString('base64'), secret, [])).to.equal(Buffer.from(secret).toString('base64'))
  })

  describe('keyflow run', () => {
    let home: {cleanup: () => void; path: string}
    let env: Record<string, string>
    let envFile: string
    let value: string

    beforeEach(() => {
      home = tempDir()
      env = baseEnv(home.path)
      value = `${canary('encodings')}/"é`
      envFile = join(home.path, 'secrets.env')
      writeFileSync(envFile, `TOKEN='${value}'\n`, {mode: 0o600})
    })

    afterEach(() => home.cleanup())

    const printer = `const v = process.env.PREFECT__CONTEXT__SECRETS__TOKEN
console.log('b64 ' + Buffer.from('Basic user:' + v).toString('base64'))
console.log('json ' + JSON.stringify({v}))
console.log('url ' + encodeURIComponent(v))`

    it('masks base64, JSON and URL forms of injected secrets by default', async () => {
      const result = await runCli(['run', '--env-file', envFile, '--secret', 'TOKEN', '--', process.execPath, '-e', printer], {env})
      expect(result.code).to.equal(0)
      const lines = result.stdout.split('\n')
      expect(lines[0]).to.match(/^b64 \S*\*{5}\S{0,4}$/)
      expect(lines.slice(1, 3)).to.deep.equal(['json {"v":"*****"}', 'url *****'])
      assertNoCanary(result.stdout, [value], 'stdout')
    })

    it('masks only the raw bytes with --mask-encodings none, and refuses an unknown encoding (exit 2)', async () => {
      const result = await runCli(['run', '--mask-encodings', 'none', '--env-file', envFile, '--secret', 'TOKEN', '--', process.execPath, '-e', printer], {env})
      expect(result.code).to.equal(0)
      expect(result.stdout).to.not.include('*****')
      const bad = await runCli(['run', '--mask-encodings', 'rot13', '--env-file', envFile, '--secret', 'TOKEN', '--', 'true'], {env})
      expect(bad.code).to.equal(2)
      expect(bad.stderr).to.include('rot13')
    })
  })
})
