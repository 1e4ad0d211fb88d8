import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn as spawnPty} from 'node-pty'

import {baseEnv, BIN, tempDir} from '../support/cli.js'
import {alive, fixture, startKeyflow, until} from '../support/run-child.js'

const count = (text: string, line: string) => text.split('\n').filter((candidate) => candidate.trim() === line).length

describe('run: signals', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>

  before(() => {
    home = tempDir()
    env = baseEnv(home.path)
  })

  after(() => home.cleanup())

  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
    it(`forwards ${signal} to the child once, then exits with its code`, async () => {
      const keyflow = startKeyflow(['run', '--allow-empty', '--', process.execPath, fixture('trap.mjs')], env)
      const [, pid] = await keyflow.waitFor(/ready (\d+)/)
      keyflow.child.kill(signal)
      const {code} = await keyflow.exited
      expect(code).to.equal(0)
      expect(count(keyflow.stdout(), `got ${signal}`)).to.equal(1)
      expect(alive(Number(pid))).to.equal(false)
    })
  }

  it('forwards SIGINT exactly once when no terminal delivers it', async () => {
    const keyflow = startKeyflow(['run', '--allow-empty', '--', process.execPath, fixture('trap.mjs')], env)
    await keyflow.waitFor(/ready \d+/)
    keyflow.child.kill('SIGINT')
    expect((await keyflow.exited).code).to.equal(0)
    expect(count(keyflow.stdout(), 'got SIGINT')).to.equal(1)
  })

  for (const [signal, key, keys] of [['SIGINT', '\u0003', 'Ctrl-C'], ['SIGQUIT', '\u001C', 'Ctrl-\\']] as const) {
    it(`does not forward ${signal} a second time when ${keys} at a terminal already delivered it`, async () => {
      const terminal = spawnPty(process.execPath, [BIN, 'run', '--', process.execPath, fixture('trap.mjs')], {cols: 80, env, rows: 24})
      let output = ''
      const exited = new Promise<number>((resolve) => {
        terminal.onExit(({exitCode}) => resolve(exitCode))
      })
      terminal.onData((data) => {
        output += data
      })
      await until(() => /ready \d+/.test(output), 'the child is ready')
      terminal.write(key)
      expect(await exited).to.equal(0)
      // The terminal echoes the key (^C, ^\) before the child's line.
      expect(output.replaceAll('\r', '').split('\n').filter((line) => line.endsWith(`got ${signal}`)).length).to.equal(1)
    })
  }

  it('waits for a child that ignores SIGTERM; a SIGKILL to keyflow alone orphans it (its group must be killed)', async () => {
    const keyflow = startKeyflow(['run', '--allow-empty', '--', process.execPath, fixture('trap.mjs'), 'SIGTERM'], env)
    const [, pid] = await keyflow.waitFor(/ready (\d+)/)
    keyflow.child.kill('SIGTERM')
    await keyflow.waitFor(/got SIGTERM/)
    keyflow.child.kill('SIGTERM')
    await until(() => count(keyflow.stdout(), 'got SIGTERM') === 2, 'the second SIGTERM reached the child')
    expect(alive(keyflow.child.pid!)).to.equal(true)
    expect(alive(Number(pid))).to.equal(true)
    process.kill(-keyflow.child.pid!, 'SIGKILL')
    await until(() => !alive(keyflow.child.pid!), 'keyflow is gone')
    // The documented limit: SIGKILL cannot be forwarded, and the child has a group of its own.
    expect(alive(Number(pid))).to.equal(true)
    process.kill(-Number(pid), 'SIGKILL')
    const {signal} = await keyflow.exited
    expect(signal).to.equal('SIGKILL')
    await until(() => !alive(Number(pid)), 'the child is gone')
  })

  it('puts the child in a process group of its own when no terminal is in the foreground', async () => {
    const keyflow = startKeyflow(['run', '--allow-empty', '--', 'sh', '-c', 'echo "ready $$ $(ps -o pgid= -p $$)"; sleep 5'], env)
    const [, pid, pgid] = await keyflow.waitFor(/ready (\d+)\s+(\d+)/)
    expect(Number(pgid)).to.equal(Number(pid))
    process.kill(-Number(pgid), 'SIGKILL')
    await keyflow.exited
  })

  it("keeps the child in keyflow's process group at a terminal (job control, Ctrl-Z, Ctrl-C as without keyflow)", async () => {
    const terminal = spawnPty(process.execPath, [BIN, 'run', '--', 'sh', '-c', 'echo "ready $(ps -o pgid= -p $$) $PPID"'], {cols: 80, env, rows: 24})
    let output = ''
    terminal.onData((data) => {
      output += data
    })
    await new Promise((resolve) => {
      terminal.onExit(resolve)
    })
    const [, pgid, parent] = /ready\s+(\d+) (\d+)/.exec(output)!
    // keyflow leads the terminal's session and foreground group; the child joins that group.
    expect(Number(parent)).to.equal(terminal.pid)
    expect(Number(pgid)).to.equal(terminal.pid)
  })
})
