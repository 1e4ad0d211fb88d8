import {expect} from 'chai'
import {describe, it} from 'mocha'
import {createHash, randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {harnessPerTest} from '../support/block-harness.js'
import {canary} from '../support/canary.js'
import {CliResult, ROOT} from '../support/cli.js'

/**
 * Sizes at the edges through `run` and the block store: the AWS maximum secret size (64 KiB),
 * a thousand and more secrets in one run, empty values, NUL bytes, names too long for the
 * system. The child (fixtures/dump.mjs) reports a digest of what it got and prints every value,
 * so the test checks injection and masking without printing a secret.
 */

const DUMP = join(ROOT, 'test', 'load', 'fixtures', 'dump.mjs')
const CONTEXT = 'PREFECT__CONTEXT__SECRETS__'
const KIB64 = 64 * 1024

/** A value of exactly `size` bytes, starting with a canary. */
function sized(label: string, size: number): string {
  const head = canary(label)
  return head + randomBytes(size).toString('hex').slice(0, size - head.length)
}

const digestOf = (variables: Record<string, string>) =>
  createHash('sha256')
    .update(
      Object.keys(variables)
        .sort()
        .map((name) => `${name}=${variables[name]}`)
        .join('\n'),
    )
    .digest('hex')

/** The child got exactly `variables`, and every value it printed was masked. */
function expectInjectedAndMasked(result: CliResult, variables: Record<string, string>): void {
  expect(result.code, result.stderr.slice(0, 500)).to.equal(0)
  const report = /^count=(\d+) digest=([\da-f]+)$/m.exec(result.stdout)
  expect(report).to.not.equal(null)
  expect(Number(report![1])).to.equal(Object.keys(variables).length)
  expect(report![2] === digestOf(variables)).to.equal(true)
  expect(result.stdout).to.include('out: *****')
}

describe('limits: huge values, many secrets, empty values, NUL bytes, long names', () => {
  // Each test: a fresh home; afterwards no file under it holds a canary in clear text.
  const h = harnessPerTest()

  it('a 64 KiB secret from a dotenv file is injected whole and masked', async () => {
    const value = sized('big', KIB64)
    h.canaries.push(value)
    const file = join(h.home, '..', 'big.env')
    writeFileSync(file, `BIG=${value}\n`, {mode: 0o600})
    const result = await h.kf(['run', '--env-file', file, '--secret', 'BIG', '--', process.execPath, DUMP])
    expectInjectedAndMasked(result, {[`${CONTEXT}BIG`]: value})
  })

  it('1,200 secrets and an empty one from a dotenv file, declared in keyflow.json, in one run', async () => {
    const values = Object.fromEntries(Array.from({length: 1200}, (_, index) => [`S${index}`, canary(`s${index}`)]))
    h.canaries.push(...Object.values(values))
    const file = join(h.home, '..', 'many.env')
    writeFileSync(file, Object.entries({...values, EMPTY: ''}).map(([name, value]) => `${name}=${value}\n`).join(''), {mode: 0o600})
    const project = join(h.home, '..', 'keyflow.json')
    writeFileSync(project, JSON.stringify({envFiles: [file], run: {secrets: [...Object.keys(values), 'EMPTY']}}))
    const result = await h.kf(['run', '--', process.execPath, DUMP], {env: {KEYFLOW_PROJECT_FILE: project}})
    const expected = Object.fromEntries([...Object.entries(values), ['EMPTY', '']].map(([name, value]) => [`${CONTEXT}${name}`, value]))
    expectInjectedAndMasked(result, expected)
  })

  it('a block with a 64 KiB secret field: stored encrypted, revealed whole, injected and masked by run --block', async () => {
    const value = sized('blockbig', KIB64)
    h.canaries.push(value)
    const created = await h.kf(['block', 'create', 'secret', 'big', '--stdin-field', 'value'], {input: value})
    expect(created.code, created.stderr).to.equal(0)
    const revealed = await h.kf(['block', 'inspect', 'secret/big', '--reveal', '--json'], {reveal: true})
    expect(JSON.parse(revealed.stdout).data.value === value).to.equal(true)
    const result = await h.kf(['run', '--block', 'secret/big', '--', process.execPath, DUMP])
    expectInjectedAndMasked(result, {[`${CONTEXT}SECRET__BIG__VALUE`]: value})
  })

  it('an empty secret value is a value: stored, revealed and injected as empty', async () => {
    expect((await h.kf(['block', 'create', 'secret', 'empty', '--stdin-field', 'value'], {input: ''})).code).to.equal(0)
    const revealed = await h.kf(['block', 'inspect', 'secret/empty', '--reveal', '--json'], {reveal: true})
    expect(JSON.parse(revealed.stdout).data.value).to.equal('')
    const result = await h.kf(['run', '--block', 'secret/empty', '--', process.execPath, DUMP])
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout).to.include(`count=1 digest=${digestOf({[`${CONTEXT}SECRET__EMPTY__VALUE`]: ''})}`)
  })

  it('a value with a NUL byte: exit 5 naming the secret, nothing started', async () => {
    const value = canary('nul')
    h.canaries.push(value)
    const file = join(h.home, '..', 'nul.env')
    writeFileSync(file, `NUL=${value}\0tail\nOK=fine\n`, {mode: 0o600})
    const result = await h.kf(['run', '--env-file', file, '--secret', 'NUL', '--secret', 'OK', '--', process.execPath, DUMP])
    expect(result.code).to.equal(5)
    expect(result.stderr).to.include('NUL').and.include('"NUL"')
    expect(result.stderr).to.not.match(/^\s+at /m)
    expect(result.stdout).to.equal('')
  })

  it('a field name too long for an environment variable: run --block fails clearly (exit 126), nothing leaks', async () => {
    const field = `f${'x'.repeat(140_000)}`
    const types = join(h.home, '..', 'long.json')
    writeFileSync(types, JSON.stringify([{fields: {properties: {[field]: {type: 'string'}}}, name: 'Long', slug: 'long'}]))
    expect((await h.kf(['block', 'register', '-f', types])).code).to.equal(0)
    const data = join(h.home, '..', 'long-data.json')
    writeFileSync(data, JSON.stringify({[field]: 'v'}))
    expect((await h.kf(['block', 'create', 'long', 'x', '--from-file', data])).code).to.equal(0)
    const result = await h.kf(['run', '--block', 'long/x', '--', process.execPath, DUMP])
    expect(result.code).to.equal(126)
    expect(result.stderr).to.include('larger than the system allows')
    expect(result.stderr).to.not.match(/^\s+at /m)
  })
})
