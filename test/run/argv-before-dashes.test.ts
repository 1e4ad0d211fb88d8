import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {baseEnv, BIN, OCLIF_ENTRY, runCli, tempDir} from '../support/cli.js'

/**
 * What precedes `--` in `keyflow run`, alike on both paths:
 * - `run --watch 1s`: the word after a bare --watch is its value (nothing else before -- can be
 *   a word of its own). oclif's path took it for a stray word and used the default interval,
 *   where the fast path refused 1s (under 5s, exit 2).
 * - other words that are neither a flag nor a flag's value (`keyflow run DB_PASSWORD -- cmd`, a
 *   forgotten --secret) are a usage error (exit 2): the fast path hands them to oclif's, which
 *   dropped them without a word (Run is not strict) and ran the command.
 */
describe('run: the words before --, on both paths', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    env = {...baseEnv(dir.path), PLAIN: 'plain-value'}
  })

  after(() => dir.cleanup())

  it('run --watch 1s --secret PLAIN --explain -- true: identical stdout, stderr and exit code', async () => {
    const argv = ['run', '--watch', '1s', '--secret', 'PLAIN', '--explain', '--', 'true']
    const [fast, oclif] = await Promise.all([BIN, OCLIF_ENTRY].map((script) => runCli(argv, {cwd: dir.path, env, script})))
    expect({code: fast.code, stderr: fast.stderr, stdout: fast.stdout}).to.deep.equal({code: oclif.code, stderr: oclif.stderr, stdout: oclif.stdout})
    // 1s is --watch's value, which is under the 5s floor.
    expect(fast.code).to.equal(2)
  })

  for (const script of [BIN, OCLIF_ENTRY]) {
    it(`${script === BIN ? 'bin/run.js' : "oclif's path"}: run --secret PLAIN extra -- true is a usage error (exit 2), the word not echoed`, async () => {
      const result = await runCli(['run', '--secret', 'PLAIN', 'extra', '--', 'true'], {cwd: dir.path, env, script})
      expect(result.code, result.stderr).to.equal(2)
      expect(result.stderr).to.match(/Unexpected word before --/).and.not.to.include('extra')
    })
  }
})
