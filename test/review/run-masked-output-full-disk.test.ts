import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, BIN, OCLIF_ENTRY, tempDir} from '../support/cli.js'

/**
 * Review (issue 16, fast path): `keyflow run` whose masked stdout cannot be written (a full
 * disk). README's exit-code table: 74, "the output could not be written: stdout on a full disk".
 * The fast path instead ends with the child's own status (0 when the child is a shell that
 * swallowed the SIGPIPE), the output lost without a word; oclif's path says 74 but exits at the
 * first failed write, leaving the command running with no parent.
 */
describe('review: run with its masked stdout on a full disk', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    env = {...baseEnv(dir.path), PLAIN: canary('full')}
  })

  after(() => dir.cleanup())

  const runToFull = (script: string, args: string[]) =>
    spawnSync('bash', ['-c', '"$0" -- "$@" > /dev/full', process.execPath, script, ...args], {cwd: dir.path, encoding: 'utf8', env, timeout: 30_000})

  it('the fast path: exit 74 and "Cannot write the output", not the child\'s 0 with the output lost', () => {
    const result = runToFull(BIN, ['run', '--secret', 'PLAIN', '--', 'sh', '-c', 'seq 1 100000; exit 0'])
    expect(result.stderr).to.match(/Cannot write the output: no space left on device\./)
    expect(result.status).to.equal(74)
  })

  it('both paths agree (exit code and stderr)', () => {
    const args = ['run', '--secret', 'PLAIN', '--', 'sh', '-c', 'echo hi']
    const [fast, oclif] = [BIN, OCLIF_ENTRY].map((script) => runToFull(script, args))
    expect({code: fast.status, stderr: fast.stderr}).to.deep.equal({code: oclif.status, stderr: oclif.stderr})
  })

  it("oclif's path: keyflow does not exit while the command it started is still running", () => {
    const marker = join(dir.path, 'still-running')
    // --allow-empty=true is a form the fast path leaves to oclif, so bin/run.js takes oclif's path.
    const result = runToFull(BIN, ['run', '--secret', 'PLAIN', '--allow-empty=true', '--', 'sh', '-c', `echo hi; sleep 2; touch '${marker}'`])
    const markerWhenKeyflowEnded = existsSync(marker)
    spawnSync('sleep', ['3'])
    expect(result.status).to.equal(74)
    // The command outlived keyflow: it was orphaned, not waited for or stopped.
    expect(existsSync(marker) && !markerWhenKeyflowEnded, 'the command kept running after keyflow exited').to.equal(false)
  })
})
