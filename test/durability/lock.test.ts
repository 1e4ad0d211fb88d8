import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {breakStale, withLock} from '../../src/lib/util/lock.js'
import {tempDir} from '../support/cli.js'

/**
 * The store lock under the interleavings that used to leave two holders: a breaker acting on a
 * stale judgement after the lock was already replaced, and a holder releasing a lock that is no
 * longer its own.
 */
describe('store lock tokens', () => {
  const dir = tempDir()
  const path = join(dir.path, 'store.lock')
  // A pid that surely belongs to no process: one that has just exited.
  const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout

  before(() => {
    expect(Number(deadPid)).to.be.greaterThan(0)
  })

  after(() => dir.cleanup())

  it('a breaker that judged a lock stale never removes the live lock that replaced it', async () => {
    const since = Date.now()
    const raw = `${deadPid} ${hostname()} ${since} deadbeef\n`
    writeFileSync(path, raw)
    const judged = {host: hostname(), pid: Number(deadPid), raw, since, token: 'deadbeef'}
    await withLock(path, 'test store', async () => {
      // This process broke the stale lock and holds a fresh one; a late breaker acts now.
      await breakStale(path, judged)
      expect(existsSync(path)).to.equal(true)
      expect(readFileSync(path, 'utf8').startsWith(`${process.pid} `)).to.equal(true)
    })
    expect(existsSync(path)).to.equal(false)
  })

  it('a holder releases only its own lock', async () => {
    await withLock(path, 'test store', async () => {
      // Pretend the lock was taken over (as a breaker on another host might after 120 s).
      writeFileSync(path, `${process.pid} ${hostname()} ${Date.now()} someoneelse\n`)
    })
    expect(readFileSync(path, 'utf8')).to.include('someoneelse')
  })
})
