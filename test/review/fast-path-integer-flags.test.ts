import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {baseEnv, BIN, OCLIF_ENTRY, runCli, tempDir} from '../support/cli.js'

/**
 * Review (issue 16, "no behaviour traded for speed"): the manifest does not say a flag is an
 * integer, so the fast path (src/fast-path.ts parseArgv) hands integer flags to the settings'
 * integer() (src/lib/settings/spec.ts), which trims the text: ` 3` and `3 ` are accepted there
 * and refused by oclif's Flags.integer (exit 2). Every refused integer is also worded
 * differently on the two paths.
 */
describe('review: integer flags on the fast path and on oclif\'s path', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    env = {...baseEnv(dir.path), PLAIN: 'plain-value'}
  })

  after(() => dir.cleanup())

  const both = async (argv: string[]) => Promise.all([BIN, OCLIF_ENTRY].map((script) => runCli(argv, {cwd: dir.path, env, script})))

  for (const argv of [
    ['secret', 'get', 'PLAIN', '--aws-max-attempts', ' 3'],
    ['secret', 'get', 'PLAIN', '--aws-connect-timeout', '3000 '],
    ['run', '--secret', 'PLAIN', '--aws-request-timeout', '\n5000', '--', 'true'],
  ]) {
    it(`keyflow ${JSON.stringify(argv)}: the same exit code on both paths`, async () => {
      const [fast, oclif] = await both(argv)
      expect(fast.code, fast.stderr).to.equal(oclif.code)
    })
  }

  it('secret get PLAIN --aws-max-attempts 0: the same stderr on both paths', async () => {
    const [fast, oclif] = await both(['secret', 'get', 'PLAIN', '--aws-max-attempts', '0'])
    expect(fast.stderr).to.equal(oclif.stderr)
  })
})
