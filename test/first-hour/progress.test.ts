import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'
import {FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'
import {runInPty} from '../support/pty.js'

/**
 * A slow AWS: a person at a terminal is told keyflow is waiting (on stderr, which the pty
 * shows), a script reading a pipe is not. The proxy answers after 3 s, well past the notice's
 * one second: nothing here measures time, only whether the notice was printed.
 */
describe('first hour: a progress notice while AWS is slow', () => {
  let moto: Moto
  let proxy: FaultProxy
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const value = canary('slow')
  const slow = () => proxy.reset([{fault: {kind: 'latency', ms: 3000}, operation: 'GetSecretValue'}])

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    proxy = await startFaultProxy(moto.url, moto.env)
    await (await motoClient(moto)).create('SLOW_ONE', value)
    dir = tempDir()
    env = {...baseEnv(dir.path), ...proxy.env}
  })

  after(async () => {
    await proxy?.stop()
    await moto?.stop()
    dir?.cleanup()
  })

  it('at a terminal: one line on stderr saying what keyflow waits for, then the value', async () => {
    slow()
    const {code, output} = await runInPty(['secret', 'get', 'SLOW_ONE', '--sources', 'aws'], {cwd: dir.path, env})
    expect(code).to.equal(0)
    expect(output).to.match(/Waiting for AWS Secrets Manager \(us-east-1\)\.\.\.\r?\n/)
    expect(output.match(/Waiting for/g)).to.have.length(1)
    expect(output.includes(value)).to.equal(true)
  })

  it('in a pipe: nothing but the value', async () => {
    slow()
    const result = await runCli(['secret', 'get', 'SLOW_ONE', '--sources', 'aws', '--no-newline'], {cwd: dir.path, env})
    expect(result.code).to.equal(0)
    expect(result.stderr).to.equal('')
    expect(result.stdout === value).to.equal(true)
    assertNoCanary(result.stderr, [value], 'stderr')
  })
})
