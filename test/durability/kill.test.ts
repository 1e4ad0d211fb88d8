import {expect} from 'chai'
import {describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, watch, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {ExitCode, KeyflowError} from '../../src/lib/errors.js'
import {withLock} from '../../src/lib/util/lock.js'
import {Harness, harnessPerTest} from '../support/block-harness.js'
import {canary} from '../support/canary.js'
import {BIN} from '../support/cli.js'
import {openAll} from '../support/open-store.js'

/**
 * kill -9 at any point of a write leaves the previous document or the new one, never a mix,
 * and nothing a later write trips over. DURABILITY_RUNS raises the iteration counts.
 */
const MIB = 1024 * 1024
const iterations = (count: number) => Number(process.env.DURABILITY_RUNS ?? count)

/** A value of `size` bytes that begins with a canary, so every copy of it can be searched for. */
const bigValue = (label: string, size: number) => {
  const head = canary(label)
  return head + 'x'.repeat(size - head.length)
}

interface Killed {
  /** True when the process finished before the kill arrived. */
  finished: boolean
}

/**
 * Starts the built CLI and SIGKILLs it after `delayMs`, or as soon as a file whose name
 * matches `trigger` appears in `watchDir`: the moment a write is under way.
 */
async function killDuring(h: Harness, args: string[], input: string, kill: {delayMs: number} | {trigger: RegExp; watchDir: string}): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--', BIN, ...args], {cwd: h.home, env: h.env() as NodeJS.ProcessEnv, stdio: ['pipe', 'ignore', 'pipe']})
    const stderr: Buffer[] = []
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    const stop = () => child.kill('SIGKILL')
    let cancel: () => void
    if ('delayMs' in kill) {
      const timer = setTimeout(stop, kill.delayMs)
      cancel = () => clearTimeout(timer)
    } else {
      const watcher = watch(kill.watchDir, (_event, name) => {
        if (name && kill.trigger.test(name)) stop()
      })
      cancel = () => watcher.close()
    }

    child.on('error', reject)
    child.on('close', (code, signal) => {
      cancel()
      if (signal === null && code !== 0) reject(new Error(`keyflow ${args.slice(0, 2).join(' ')} failed (exit ${code}) before the kill`))
      else resolve({finished: signal === null})
    })
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

describe('durability: kill -9 in the middle of writes', function () {
  // Dozens of CLI processes each, killed and re-checked: slow when the parallel tier shares two cores.
  this.timeout(240_000)
  // Each test: a fresh home; afterwards no file under it holds a canary in clear text.
  const h = harnessPerTest()

  it('block update killed at random points and as its temporary file appears: old or new value, store readable', async () => {
    const values = [bigValue('v0', MIB)]
    h.canaries.push(values[0])
    const created = await h.kf(['block', 'create', 'secret', 'big', '--stdin-field', 'value'], {input: values[0]})
    expect(created.code, created.stderr).to.equal(0)
    const other = await h.kf(['block', 'create', 'secret', 'other', '--stdin-field', 'value'], {input: 'untouched'})
    expect(other.code, other.stderr).to.equal(0)
    const dir = join(h.store, 'documents', 'secret')

    let current = values[0]
    let killedMidway = 0
    for (let round = 0; round < iterations(24); round++) {
      const next = bigValue(`v${round + 1}`, MIB)
      h.canaries.push(next)
      const kill = round % 2 === 0 ? {delayMs: 150 + Math.floor(Math.random() * 600)} : {trigger: /^\.big\.json\..*\.tmp$/, watchDir: dir}
      // eslint-disable-next-line no-await-in-loop
      const {finished} = await killDuring(h, ['block', 'update', 'secret/big', '--stdin-field', 'value'], next, kill)
      // eslint-disable-next-line no-await-in-loop
      const opened = await openAll(h)
      expect([...opened.keys()]).to.deep.equal(['secret/big', 'secret/other'])
      expect(opened.get('secret/other')?.value === 'untouched').to.equal(true)
      const now = opened.get('secret/big')?.value
      const outcome = now === current ? 'old' : now === next ? 'new' : 'neither'
      expect(outcome).to.not.equal('neither')
      if (finished) expect(outcome).to.equal('new')
      else if (outcome === 'old') killedMidway++
      current = now as string
    }

    // The kills landed before the rename at least sometimes, or the test proved nothing.
    expect(killedMidway).to.be.greaterThan(0)
    const list = await h.kf(['block', 'ls', '--json'])
    expect(list.code, list.stderr).to.equal(0)
    expect(JSON.parse(list.stdout).blocks.map((block: {address: string}) => block.address)).to.deep.equal(['secret/big', 'secret/other'])
    expect(list.stderr).to.equal('')
    const inspect = await h.kf(['block', 'inspect', 'secret/big', '--json'])
    expect(inspect.code, inspect.stderr).to.equal(0)
    // Stale lock and temporary files of killed writers do not block the next write.
    const last = await h.kf(['block', 'update', 'secret/big', '--stdin-field', 'value'], {input: 'final'})
    expect(last.code, last.stderr).to.equal(0)
    expect((await openAll(h)).get('secret/big')?.value === 'final').to.equal(true)
    // The lock itself is released; a killed writer's private temporaries may remain, ignored by readers.
    expect(readdirSync(h.store)).to.not.include('.lock')
  })

  it('a lock file left by a dead process is broken at once; one held by a live process is a clear CONFLICT after the wait', async () => {
    expect((await h.kf(['block', 'create', 'secret', 'a', '--stdin-field', 'value'], {input: 'one'})).code).to.equal(0)
    const dead = spawn(process.execPath, ['-e', ''])
    const deadPid = await new Promise<number>((resolve) => {
      dead.on('close', () => resolve(dead.pid!))
    })
    const lock = join(h.store, '.lock')
    writeFileSync(lock, `${deadPid} ${hostname()} ${Date.now()}\n`, {mode: 0o600})
    const write = await h.kf(['block', 'update', 'secret/a', '--stdin-field', 'value'], {input: 'two'})
    expect(write.code, write.stderr).to.equal(0)
    expect(existsSync(lock)).to.equal(false)

    // A live holder (this test process): a writer waits, then gives up with CONFLICT naming the lock.
    writeFileSync(lock, `${process.pid} ${hostname()} ${Date.now()}\n`, {mode: 0o600})
    let ran = false
    const blocked = await withLock(lock, 'block store', async () => {
      ran = true
    }, 300).catch((error: unknown) => error)
    expect(blocked).to.be.instanceOf(KeyflowError)
    expect([ran, (blocked as KeyflowError).exit, (blocked as KeyflowError).where]).to.deep.equal([false, ExitCode.CONFLICT, lock])
    expect((blocked as KeyflowError).message).to.include(`pid ${process.pid}`)
    expect(readFileSync(lock, 'utf8')).to.include(String(process.pid))
    expect((await openAll(h)).get('secret/a')?.value === 'two').to.equal(true)
  })

  it('block rekey killed midway: every document opens with the old or the new key, and rekey again finishes', async () => {
    const secrets = Array.from({length: 30}, (_, index) => canary(`k${index}`))
    h.canaries.push(...secrets)
    for (const [index, secret] of secrets.entries()) {
      // eslint-disable-next-line no-await-in-loop
      expect((await h.kf(['block', 'create', 'secret', `s${index}`, '--stdin-field', 'value'], {input: secret})).code).to.equal(0)
    }

    const check = async () => {
      const opened = await openAll(h)
      expect(opened.size).to.equal(secrets.length)
      for (const [index, secret] of secrets.entries()) expect(opened.get(`secret/s${index}`)?.value === secret).to.equal(true)
    }

    const dir = join(h.store, 'documents', 'secret')
    let interrupted = 0
    for (let round = 0; round < iterations(6); round++) {
      const kill = round % 2 === 0 ? {delayMs: 200 + Math.floor(Math.random() * 500)} : {trigger: /^\.s\d+\.json\..*\.tmp$/, watchDir: dir}
      // eslint-disable-next-line no-await-in-loop
      const {finished} = await killDuring(h, ['block', 'rekey'], '', kill)
      if (!finished) interrupted++
      // eslint-disable-next-line no-await-in-loop
      await check()
    }

    expect(interrupted).to.be.greaterThan(0)
    const rekey = await h.kf(['block', 'rekey', '--json'])
    expect(rekey.code, rekey.stderr).to.equal(0)
    expect(existsSync(join(h.home, 'master.key.new'))).to.equal(false)
    await check()
  })
})
