import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {baseEnv, BIN, OCLIF_ENTRY, runCli, tempDir} from '../support/cli.js'

/**
 * Review (issue 16): `run --watch 1s`. The oclif command (src/commands/run.ts) rewrites a bare
 * `--watch` to `--watch=DEFAULT` before parsing, so `1s` is a stray word there; the fast path's
 * parseArgv takes `1s` as --watch's value and refuses it (under 5s, exit 2), where oclif's path
 * runs with the default interval (exit 0). The same argv, two behaviours.
 */
describe('review: run --watch VALUE (space-separated) on both paths', () => {
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
  })
})
