/// <reference types="mocha" />
import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {harnessPerTest} from '../support/block-harness.js'
import {canary} from '../support/canary.js'
import {tempDir} from '../support/cli.js'

/**
 * Issue 10's lower items: prototype keys in input, control characters reaching the
 * terminal, modules that misbehave, a full disk, and debris from writes that never finished.
 */

const errorOf = (stderr: string) => JSON.parse(stderr.slice(stderr.indexOf('{'))).error as {code: string; exit: number}
const writeModule = (dir: string, source: string) => {
  const file = join(dir, `module-${Math.random().toString(16).slice(2)}.mjs`)
  writeFileSync(file, source)
  return file
}

const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout

describe('hardening', () => {
  const h = harnessPerTest()

  it('a __proto__ key in --from-file is an unknown field (exit 6), never stored', async () => {
    const value = canary('proto')
    h.canaries.push(value)
    const file = join(h.home, '..', 'input.json')
    writeFileSync(file, `{"value": "v", "__proto__": {"value": "${value}"}}`)
    const result = await h.kf(['block', 'create', 'secret', 'p', '--from-file', file, '--json'])
    expect(result.code, result.stderr).to.equal(6)
    expect(result.stderr).to.contain('__proto__: unknown field')
    expect(existsSync(join(h.store, 'documents', 'secret', 'p.json'))).to.equal(false)
  })

  it('control characters from a reference reach neither --explain nor an error raw', async () => {
    const reference = 'a%1b]0;pwned%07b%00c%1b[2J'
    const explained = await h.kf(['secret', 'get', reference, '--explain'])
    const failed = await h.kf(['secret', 'get', reference])
    for (const output of [explained.stdout, explained.stderr, failed.stderr]) {
      // eslint-disable-next-line no-control-regex -- looking for them
      expect(output).to.not.match(/[\u0000\u0007\u001B]/)
    }

    expect(explained.stdout).to.contain(String.raw`a\x1b]0;pwned\x07b\x00c\x1b[2J`)
    expect(failed.stderr).to.contain(String.raw`\x1b]0;pwned`)
  })

  describe('block modules that misbehave', () => {
    const definition = `{slug: 'timer-type', name: 'Timer', fields: {type: 'object', properties: {a: {type: 'string'}}}}`

    it('a module that leaves a timer running does not keep keyflow from exiting', async () => {
      const file = writeModule(join(h.home, '..'), `setInterval(() => {}, 1000)\nexport const type = ${definition}\n`)
      const result = await h.kf(['block', 'register', '-f', file, '--json'])
      expect([result.code, result.signal], result.stderr).to.deep.equal([0, null])
      expect(JSON.parse(result.stdout).types[0].slug).to.equal('timer-type')
    })

    it('a throwing getter or a Proxy export is the module\'s error (exit 2), not a keyflow bug', async () => {
      for (const source of [
        `export default {get boom() { throw new Error('x') }}\n`,
        `export default new Proxy({}, {ownKeys() { throw new Error('x') }})\n`,
        `export const a = new Proxy({}, {get() { throw new Error('x') }, has() { throw new Error('x') }})\n`,
      ]) {
        // eslint-disable-next-line no-await-in-loop
        const result = await h.kf(['block', 'register', '-f', writeModule(join(h.home, '..'), source), '--json'])
        expect(result.code, result.stderr).to.equal(2)
        expect(errorOf(result.stderr).code).to.equal('MODULE_LOAD_FAILED')
      }
    })
  })

  describe('debris of writes that never finished', () => {
    it('the next write removes stale temporaries and dead lock attempts, and breaks an empty lock', async () => {
      const first = await h.kf(['block', 'create', 'secret', 'a', '--stdin-field', 'value'], {input: 'x'})
      expect(first.code, first.stderr).to.equal(0)
      const documents = join(h.store, 'documents', 'secret')
      const dead = deadPid()
      writeFileSync(join(documents, `.b.json.${dead}.0123456789ab.tmp`), '{"revision": 1')
      writeFileSync(join(h.store, `.lock.${dead}.0123456789abcdef`), '')
      writeFileSync(join(h.store, `.lock.break.${dead}.fedcba9876543210`), '')
      writeFileSync(join(h.store, '.lock'), '')
      const next = await h.kf(['block', 'create', 'secret', 'b', '--stdin-field', 'value'], {input: 'y'})
      expect(next.code, next.stderr).to.equal(0)
      expect([...readdirSync(h.store), ...readdirSync(documents)].filter((name) => name.startsWith('.'))).to.deep.equal([])
    })
  })

  describe('a full disk', () => {
    let disk: ReturnType<typeof tempDir>

    beforeEach(() => {
      disk = tempDir()
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', disk.path])
    })

    afterEach(() => {
      execFileSync('umount', [disk.path])
      disk.cleanup()
    })

    const fill = () => {
      // Fill the disk to the last block, whatever tmpfs's rounding.
      const result = spawnSync('dd', ['if=/dev/zero', `of=${join(disk.path, 'filler')}`, 'bs=4k'], {encoding: 'utf8'})
      expect(result.stderr).to.contain('No space left')
    }

    it('while creating the master key: a clear error (exit 8), nothing left behind, and the next run works', async () => {
      const home = join(disk.path, 'home')
      mkdirSync(home, {mode: 0o700})
      fill()
      const env = {KEYFLOW_HOME: home}
      const failed = await h.kf(['block', 'create', 'secret', 'x', '--stdin-field', 'value', '--json'], {env, input: 'v'})
      expect(failed.code, failed.stderr).to.equal(8)
      expect(errorOf(failed.stderr).code).to.equal('MASTER_KEY_CREATE_FAILED')
      expect(readdirSync(home).filter((name) => name.includes('master'))).to.deep.equal([])
      rmSync(join(disk.path, 'filler'))
      const created = await h.kf(['block', 'create', 'secret', 'x', '--stdin-field', 'value'], {env, input: 'v'})
      expect(created.code, created.stderr).to.equal(0)
    })

    it('while writing a document: a clear error, no temporary or lock debris, and the next write works', async () => {
      const home = join(disk.path, 'home')
      const env = {KEYFLOW_HOME: home}
      const first = await h.kf(['block', 'create', 'secret', 'a', '--stdin-field', 'value'], {env, input: 'x'})
      expect(first.code, first.stderr).to.equal(0)
      fill()
      const failed = await h.kf(['block', 'create', 'secret', 'b', '--stdin-field', 'value', '--json'], {env, input: 'y'.repeat(8192)})
      expect(failed.code, failed.stderr).to.equal(8)
      const store = join(home, 'blocks')
      const debris = () => [...readdirSync(store), ...readdirSync(join(store, 'documents', 'secret'))].filter((name) => name.startsWith('.'))
      expect(debris()).to.deep.equal([])
      rmSync(join(disk.path, 'filler'))
      const next = await h.kf(['block', 'create', 'secret', 'b', '--stdin-field', 'value'], {env, input: 'y'})
      expect(next.code, next.stderr).to.equal(0)
      expect(debris()).to.deep.equal([])
    })
  })
})
