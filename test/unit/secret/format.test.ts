import {expect} from 'chai'
import {parse} from 'dotenv'
import * as fc from 'fast-check'
import {describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {formatSecrets, shellQuote} from '../../../src/lib/secret/format.js'

/** Characters that matter to dotenv and shell quoting, mixed with ordinary ones. */
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom("'", '"', '`', '\\', '$', '#', '=', ' ', '\t', '\n', '\r', 'n', 'r', '!', '*', '\u00E9', '\u{1F511}'),
    fc.string({maxLength: 1, minLength: 1, unit: 'grapheme'}),
  ),
})

/** `sh -c` evaluates `script` and prints the named variables NUL-separated. */
function shellEvaluate(script: string, keys: string[]): string[] {
  const printer = keys.map((key) => `printf '%s\\0' "$${key}"`).join('; ')
  const result = spawnSync('sh', ['-c', `${script}\n${printer}`], {encoding: 'utf8', env: {PATH: process.env.PATH}})
  expect(result.status).to.equal(0)
  return result.stdout.split('\0').slice(0, -1)
}

describe('output formats', () => {
  it('env: simple values stay bare, others are quoted, empty values are kept', () => {
    expect(
      formatSecrets(
        [
          {key: 'A', value: 'plain/value:1.0@x+y-z'},
          {key: 'B', value: ''},
          {key: 'C', value: 'with space'},
          {key: 'D', value: "it's"},
        ],
        'env',
      ),
    ).to.equal("A=plain/value:1.0@x+y-z\nB=\nC='with space'\nD=`it's`\n")
  })

  it('env: round-trips through dotenv.parse, or refuses clearly (exit 5)', () => {
    fc.assert(
      fc.property(tricky, (value) => {
        let text: string
        try {
          text = formatSecrets([{key: 'K', value}], 'env')
        } catch (error) {
          expect(error).to.be.instanceOf(KeyflowError)
          expect((error as KeyflowError).exit).to.equal(ExitCode.BAD_VALUE)
          // Refused only when no quoting is literal: a CR, all three quotes, or a final backslash.
          expect(value.includes('\r') || (value.includes("'") && value.includes('`')) || value.endsWith('\\')).to.equal(true)
          return
        }

        expect(parse(text).K === value).to.equal(true)
      }),
      {numRuns: 3000},
    )
  })

  it('env: several values in one file round-trip together', () => {
    fc.assert(
      fc.property(fc.array(tricky.filter((value) => !value.includes('\r')), {maxLength: 8}), (values) => {
        const named = values.map((value, index) => ({key: `K${index}`, value}))
        let text: string
        try {
          text = formatSecrets(named, 'env')
        } catch {
          return
        }

        const parsed = parse(text)
        expect(named.every(({key, value}) => parsed[key] === value)).to.equal(true)
      }),
      {numRuns: 2000},
    )
  })

  it('json: a JSON object of the values', () => {
    const values = [
      {key: 'A', value: 'x"y\n'},
      {key: 'b.c', value: ''},
    ]
    expect(JSON.parse(formatSecrets(values, 'json'))).to.deep.equal({A: 'x"y\n', 'b.c': ''})
  })

  it('shell: export lines that sh -c reads back to the same values', () => {
    const values = fc.array(tricky.filter((value) => !value.includes('\0')), {maxLength: 5, minLength: 1})
    fc.assert(
      fc.property(values, (list) => {
        const named = list.map((value, index) => ({key: `V${index}`, value}))
        const back = shellEvaluate(formatSecrets(named, 'shell'), named.map(({key}) => key))
        expect(back.length === list.length && back.every((value, index) => value === list[index])).to.equal(true)
      }),
      {numRuns: 60},
    )
  })

  it('shellQuote escapes single quotes', () => {
    expect(shellQuote("a'b")).to.equal(String.raw`'a'\''b'`)
    expect(shellQuote('')).to.equal("''")
  })
})
