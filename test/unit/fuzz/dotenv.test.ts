import {expect} from 'chai'
import * as fc from 'fast-check'
import {after, before, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {resolveSettings} from '../../../src/lib/invocation.js'
import {formatSecrets} from '../../../src/lib/secret/format.js'
import {LookupRequest} from '../../../src/lib/secret/source.js'
import {DotenvProvenance, dotenvSource} from '../../../src/lib/secret/sources/dotenv.js'
import {tempDir} from '../../support/cli.js'

const runs = (count: number) => ({numRuns: Number(process.env.FC_RUNS ?? count)})

const encoder = new TextEncoder()
/** Pieces dotenv files are made of, good and bad, as bytes. */
const fragment = fc.oneof(
  {
    arbitrary: fc
      .constantFrom('\uFEFF', '\r\n', '\n', '\r', 'export ', 'KEY', 'K_1', 'a.b-c', '=', ':', ' ', '#', "'", '"', '`', '\\', String.raw`\n`, 'value', '$X')
      .map((text) => encoder.encode(text)),
    weight: 6,
  },
  {arbitrary: fc.constantFrom(new Uint8Array([0xff]), new Uint8Array([0xc3]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0])), weight: 1},
  {arbitrary: fc.uint8Array({maxLength: 8}), weight: 1},
)
const fileBytes = fc.array(fragment, {maxLength: 40}).map((parts) => Buffer.concat(parts))

describe('property: dotenv files', () => {
  let dir: ReturnType<typeof tempDir>
  let file: string

  before(() => {
    dir = tempDir()
    file = join(dir.path, 'fuzz.env')
  })

  after(() => dir.cleanup())

  const lookup = (names: string[]) => {
    const settings = resolveSettings({cwd: dir.path, env: {KEYFLOW_HOME: dir.path, KEYFLOW_PROJECT_FILE: ''}, flags: {envFiles: [file]}})
    return dotenvSource(settings).lookup(names.map((name): LookupRequest => ({direct: false, name})))
  }

  it('any bytes: hits and misses, or exit 4 naming the file (invalid UTF-8) or the line (not NAME=VALUE); never a throw', async () => {
    await fc.assert(
      fc.asyncProperty(fileBytes, async (bytes) => {
        writeFileSync(file, bytes)
        const outcomes = await lookup(['KEY', 'K_1', 'a.b-c', 'MISSING'])
        for (const outcome of outcomes) {
          if (outcome.kind !== 'failure') continue
          expect(outcome.error).to.be.instanceOf(KeyflowError)
          expect(outcome.error.code).to.equal('ENV_FILE_MALFORMED')
          expect(outcome.error.exit).to.equal(ExitCode.SOURCE_FAILURE)
          const invalidUtf8 = Buffer.from(bytes).toString('utf8').includes('\uFFFD')
          if (invalidUtf8) expect(outcome.error.where).to.equal(file)
          else expect(outcome.error.where).to.match(new RegExp(`^${file.replaceAll(/[.*+?^${}()|[\]\\/]/g, String.raw`\$&`)}:\\d+$`))
        }
      }),
      runs(1500),
    )
  })

  const value = fc.string({
    maxLength: 30,
    unit: fc.oneof(
      fc.constantFrom("'", '"', '`', '\\', '$', '#', '=', ' ', '\n', 'n', '\u00E9', '\0'),
      fc.string({maxLength: 1, minLength: 1, unit: 'grapheme'}),
    ),
  })
  const entries = fc.uniqueArray(fc.record({key: fc.stringMatching(/^[A-Z_a-z]\w{0,15}$/), value}), {
    maxLength: 12,
    minLength: 1,
    selector: (entry) => entry.key,
  })

  it('files keyflow writes (--format env), with a BOM, CRLF or export prefixes, read back to the same values and lines', async () => {
    await fc.assert(
      fc.asyncProperty(entries, fc.boolean(), fc.boolean(), fc.boolean(), async (list, bom, crlf, exported) => {
        let text: string
        try {
          text = list.map((entry) => (exported ? 'export ' : '') + formatSecrets([entry], 'env')).join('')
        } catch {
          return
        }

        if (crlf) text = text.replaceAll('\n', '\r\n')
        writeFileSync(file, (bom ? '\uFEFF' : '') + text)
        const outcomes = await lookup(list.map(({key}) => key))
        const lines = text.split(/\r?\n/)
        for (const [index, outcome] of outcomes.entries()) {
          expect(outcome.kind).to.equal('hit')
          if (outcome.kind !== 'hit' || outcome.provenance.source !== 'dotenv') continue
          expect(outcome.value === list[index].value).to.equal(true)
          const line = lines[((outcome.provenance as DotenvProvenance).line ?? 0) - 1]
          expect(line.replace(/^export /, '').startsWith(`${list[index].key}=`)).to.equal(true)
        }
      }),
      runs(800),
    )
  })
})
