import {expect} from 'chai'
import {parse} from 'dotenv'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, CliResult, runCli, tempDir} from '../support/cli.js'

/** Sizes and shapes at the edges, through the built CLI: handled whole, or refused clearly. */
describe('limits: huge, empty and many values, long names', () => {
  let dir: ReturnType<typeof tempDir>
  let canaries: string[]

  beforeEach(() => {
    dir = tempDir()
    canaries = []
  })

  afterEach(() => dir.cleanup())

  async function keyflow(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const result = await runCli(['secret', 'get', ...args], {cwd: dir.path, env: {...baseEnv(dir.path), ...env}})
    assertNoCanary(result.stderr, canaries, 'stderr')
    return result
  }

  it('a 64 KiB value from the environment, alone and in every format', async () => {
    const big = (canary('big') + ' quote\' "dq" `bt` $x\\ ' + 'y'.repeat(65_536)).slice(0, 65_536)
    canaries.push(big.slice(0, 30))
    const env = {BIG: big}
    const alone = await keyflow(['BIG', '--no-newline'], env)
    expect(alone.code).to.equal(0)
    expect(alone.stdout === big).to.equal(true)
    const json = await keyflow(['BIG', 'BIG2=BIG', '--format', 'json'], env)
    expect(JSON.parse(json.stdout).BIG2 === big).to.equal(true)
    const dotenv = await keyflow(['BIG', '--format', 'env'], env)
    expect(dotenv.code).to.equal(0)
    expect(parse(dotenv.stdout).BIG === big).to.equal(true)
    const explain = await keyflow(['BIG', '--explain'], env)
    assertNoCanary(explain.stdout, canaries, '--explain')
  })

  it('empty values are values: a bare newline, "" in JSON, KEY= in env output', async () => {
    writeFileSync(join(dir.path, '.env'), 'FILE_EMPTY=\nQUOTED_EMPTY=""\n')
    const env = {ENV_EMPTY: ''}
    const alone = await keyflow(['ENV_EMPTY'], env)
    expect(alone.code).to.equal(0)
    expect(alone.stdout).to.equal('\n')
    const many = await keyflow(['ENV_EMPTY', 'FILE_EMPTY', 'QUOTED_EMPTY', '--format', 'env'], env)
    expect(many.stdout).to.equal('ENV_EMPTY=\nFILE_EMPTY=\nQUOTED_EMPTY=\n')
    const json = await keyflow(['FILE_EMPTY', '--json'], env)
    expect(JSON.parse(json.stdout).secrets[0]).to.deep.include({found: true, source: 'dotenv', value: ''})
  })

  it('thousands of secrets in a dotenv file, a thousand asked at once', async () => {
    const count = 5000
    const values = Array.from({length: count}, (_, index) => `v${index}-${'x'.repeat(index % 50)}`)
    writeFileSync(join(dir.path, '.env'), values.map((value, index) => `S${index}=${value}\n`).join(''))
    const asked = Array.from({length: 1000}, (_, index) => `S${index * 5}`)
    const result = await keyflow([...asked, '--format', 'json', '--sources', 'dotenv'])
    expect(result.code).to.equal(0)
    const parsed = JSON.parse(result.stdout)
    expect(asked.every((name, index) => parsed[name] === values[index * 5])).to.equal(true)
  })

  it('a NUL byte in a dotenv value is kept, and escaped in JSON', async () => {
    writeFileSync(join(dir.path, '.env'), Buffer.from('NUL="a\0b"\n'))
    const raw = await keyflow(['NUL', '--no-newline'])
    expect(raw.stdoutBytes.equals(Buffer.from('a\0b'))).to.equal(true)
    const json = await keyflow(['NUL', '--format', 'json'])
    expect(json.stdout).to.contain(String.raw`"a\u0000b"`)
  })

  it('a dotenv file that is not UTF-8: exit 4 naming the file', async () => {
    writeFileSync(join(dir.path, '.env'), Buffer.from([0x53, 0x3d, 0xff, 0xfe, 0x0a]))
    const result = await keyflow(['S'])
    expect(result.code).to.equal(4)
    expect(result.stderr).to.contain('The env file is not valid UTF-8.')
    expect(result.stderr).to.contain(join(dir.path, '.env'))
  })

  it('a 2048-character name is looked up; a longer one is a usage error', async () => {
    const name = 'N'.repeat(2048)
    const value = canary('long')
    canaries.push(value)
    const found = await keyflow([name, '--no-newline'], {[name]: value})
    expect(found.code).to.equal(0)
    expect(found.stdout === value).to.equal(true)
    const tooLong = await keyflow([name + 'N'])
    expect(tooLong.code).to.equal(2)
    expect(tooLong.stderr).to.contain('the name is longer than 2048 characters')
  })

  it('names of Object.prototype members are ordinary names', async () => {
    const value = canary('proto')
    canaries.push(value)
    const missing = await keyflow(['constructor', 'toString', '__proto__', '--format', 'json'])
    expect(missing.code).to.equal(3)
    expect(missing.stderr).to.contain('3 of 3 secrets could not be resolved.')
    const found = await keyflow(['constructor', '--no-newline'], {constructor: value})
    expect(found.stdout === value).to.equal(true)
    const scheme = await keyflow(['constructor://x'])
    expect(scheme.code).to.equal(2)
  })

  it('names with dots, dashes and slashes through the chain and as aliases', async () => {
    writeFileSync(join(dir.path, '.env'), 'app.db-url=from-dotenv\n')
    const env = {'prod/api-key.v2': 'from-env'}
    const result = await keyflow(['prod/api-key.v2', 'URL=app.db-url', '--format', 'json'], env)
    expect(JSON.parse(result.stdout)).to.deep.equal({'prod/api-key.v2': 'from-env', URL: 'from-dotenv'})
    const shell = await keyflow(['prod/api-key.v2', '--format', 'shell'], env)
    expect(shell.code).to.equal(2)
    expect(shell.stderr).to.contain('Give it one: ALIAS=prod/api-key.v2')
  })
})
