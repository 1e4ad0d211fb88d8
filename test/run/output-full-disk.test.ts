import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, BIN, OCLIF_ENTRY, tempDir} from '../support/cli.js'

/**
 * `keyflow run` whose masked stdout cannot be written (a full disk): exit 74 and "Cannot write
 * the output" once the command, stopped by the broken pipe, has ended, on both paths. The fast
 * path ended with the child's own status (0 from a shell that swallowed the SIGPIPE), the output
 * lost without a word; oclif's path exited at the first failed write, leaving the command
 * running without its parent.
 */
describe('run with its masked stdout on a full disk', () => {
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
    const result = runToFull(OCLIF_ENTRY, ['run', '--secret', 'PLAIN', '--', 'sh', '-c', `echo hi; sleep 2; touch '${marker}'`])
    const markerWhenKeyflowEnded = existsSync(marker)
    spawnSync('sleep', ['3'])
    expect(result.status).to.equal(74)
    // The command outlived keyflow: it was orphaned, not waited for or stopped.
    expect(existsSync(marker) && !markerWhenKeyflowEnded, 'the command kept running after keyflow exited').to.equal(false)
  })

  it("stderr on a full disk: the command's exit code and stdout stand", () => {
    const result = spawnSync('bash', ['-c', '"$0" -- "$1" run --secret PLAIN -- sh -c "echo warning >&2; echo out; exit 3" 2> /dev/full', process.execPath, BIN], {cwd: dir.path, encoding: 'utf8', env, timeout: 30_000})
    expect(result.stdout).to.equal('out\n')
    expect(result.status).to.equal(3)
  })
})
