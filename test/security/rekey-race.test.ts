/// <reference types="mocha" />
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync, unlinkSync, watch, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {harnessPerTest} from '../support/block-harness.js'
import {canary} from '../support/canary.js'
import {BIN} from '../support/cli.js'

/**
 * Issue 10, hole 5: a writer that sealed with the old master key and then waited for the
 * store lock must not land a document under a key `rekey` is about to destroy. Reproduced
 * deterministically: the test holds the store lock, starts the writer, waits (inotify) until
 * the writer is trying to take the lock (so it has sealed), stops it with SIGSTOP, lets a
 * whole rekey run, then resumes it.
 */

describe('rekey racing a writer', () => {
  const h = harnessPerTest()

  it('a writer that sealed before the rotation and lands after it fails with exit 7, losing nothing', async () => {
    const first = await h.kf(['block', 'create', 'secret', 'before', '--stdin-field', 'value'], {input: 'x'})
    expect(first.code, first.stderr).to.equal(0)
    const oldKey = readFileSync(join(h.home, 'master.key'), 'utf8')
    const lock = join(h.store, '.lock')
    writeFileSync(lock, `${process.pid} ${hostname()} ${Date.now()} ${randomBytes(8).toString('hex')}\n`, {mode: 0o600})

    const value = canary('raced')
    h.canaries.push(value)
    const events: string[] = []
    let attempting: (() => void) | undefined
    const attempted = new Promise<void>((resolve) => {
      attempting = resolve
    })
    const watcher = watch(h.store, (_event, name) => {
      if (name) events.push(name)
      if (writer.pid && events.some((event) => event.startsWith(`.lock.${writer.pid}.`))) attempting?.()
    })
    const writer = spawn(process.execPath, ['--', BIN, 'block', 'create', 'secret', 'raced', '--stdin-field', 'value', '--json'], {cwd: h.home, env: h.env() as NodeJS.ProcessEnv})
    const stderr: Buffer[] = []
    writer.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    writer.stdout.resume()
    writer.stdin.end(value)
    const exited = new Promise<null | number>((resolve) => {
      writer.on('close', (code) => resolve(code))
    })
    try {
      await attempted
      writer.kill('SIGSTOP')
      unlinkSync(lock)
      const rekey = await h.kf(['block', 'rekey', '--json'])
      expect(rekey.code, rekey.stderr).to.equal(0)
      expect(readFileSync(join(h.home, 'master.key'), 'utf8')).to.not.equal(oldKey)
    } finally {
      watcher.close()
      writer.kill('SIGCONT')
    }

    const code = await exited
    const error = Buffer.concat(stderr).toString('utf8')
    expect(code, error).to.equal(7)
    expect(JSON.parse(error).error.code).to.equal('MASTER_KEY_ROTATED')
    expect(existsSync(join(h.store, 'documents', 'secret', 'raced.json'))).to.equal(false)
    // Running it again now works under the new key.
    const again = await h.kf(['block', 'create', 'secret', 'raced', '--stdin-field', 'value'], {input: value})
    expect(again.code, again.stderr).to.equal(0)
    const shown = await h.kf(['block', 'inspect', 'secret/raced', '--reveal', '--json'], {reveal: true})
    expect(JSON.parse(shown.stdout).data.value).to.equal(value)
  })
})
