import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'

import {baseEnv, BIN, OCLIF_ENTRY, tempDir} from '../support/cli.js'

/**
 * A command that fails, with stdout on a full disk, writes nothing to stdout, so its own exit
 * code stands (3 for a secret not found), on both paths. oclif's path answered 74 and a second
 * error for output that was never there: oclif's flush() and bin/run.js's drain wrote '' to
 * stdout, which on /dev/full fails (ENOSPC).
 */
describe('a failure keeps its exit code when stdout is on a full disk', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    env = baseEnv(dir.path)
  })

  after(() => dir.cleanup())

  const toFull = (script: string, args: string[]) =>
    spawnSync('bash', ['-c', '"$0" -- "$@" > /dev/full', process.execPath, script, ...args], {cwd: dir.path, encoding: 'utf8', env, timeout: 30_000})

  it('secret get NOPE: exit 3 and one error on both paths', () => {
    const [fast, oclif] = [BIN, OCLIF_ENTRY].map((script) => toFull(script, ['secret', 'get', 'NOPE', '--sources', 'env']))
    expect(fast.status).to.equal(3)
    expect({code: oclif.status, stderr: oclif.stderr}).to.deep.equal({code: fast.status, stderr: fast.stderr})
  })

  for (const [args, code] of [
    [['block', 'inspect', 'secret/nope'], 3],
    [['secret', 'get', 'PLAIN', '--bogus'], 2],
  ] as const) {
    it(`keyflow ${args.join(' ')}: exit ${code}, not 74`, () => {
      const result = toFull(BIN, [...args])
      expect(result.stderr).to.not.match(/Cannot write the output/)
      expect(result.status).to.equal(code)
    })
  }
})
