import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn as spawnPty} from 'node-pty'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, BIN, tempDir} from '../support/cli.js'
import {fixture, parseReport, sha256} from '../support/run-child.js'

/** keyflow run in a pseudo-terminal: all three stdio are the terminal. */
async function inTerminal(args: string[], env: Record<string, string>): Promise<{code: number; output: string}> {
  const terminal = spawnPty(process.execPath, [BIN, ...args], {cols: 200, env, rows: 24})
  let output = ''
  terminal.onData((data) => {
    output += data
  })
  const code = await new Promise<number>((resolve) => {
    terminal.onExit(({exitCode}) => resolve(exitCode))
  })
  // eslint-disable-next-line no-control-regex
  return {code, output: output.replaceAll('\r', '').replaceAll(/\u001B\[[\d;]*m/g, '')}
}

describe('run: a terminal', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string
  let value: string

  before(() => {
    home = tempDir()
    env = {...baseEnv(home.path), TERM: 'xterm'}
    value = canary('tty')
    envFile = join(home.path, 'secrets.env')
    writeFileSync(envFile, `TOKEN=${value}\n`, {mode: 0o600})
  })

  after(() => home.cleanup())

  it('gives the child the terminal itself: stdin, stdout and stderr stay TTYs', async () => {
    const {code, output} = await inTerminal(['run', '--env-file', envFile, '--secret', 'TOKEN', '--', process.execPath, fixture('report.mjs'), 'PREFECT__CONTEXT__SECRETS__TOKEN'], env)
    expect(code).to.equal(0)
    const report = parseReport(output)
    expect(report.tty).to.deep.equal({stderr: true, stdin: true, stdout: true})
    expect(report.digests.PREFECT__CONTEXT__SECRETS__TOKEN === sha256(value)).to.equal(true)
  })

  it('masks at a terminal too with --mask always (the child then writes to a pipe)', async () => {
    const {code, output} = await inTerminal(['run', '--mask', 'always', '--env-file', envFile, '--secret', 'TOKEN', '--', process.execPath, fixture('leak.mjs'), 'PREFECT__CONTEXT__SECRETS__TOKEN'], env)
    expect(code).to.equal(0)
    expect(output).to.include('out: *****')
    expect(output).to.include('err: *****')
    expect(output.includes(value)).to.equal(false)
  })
})
