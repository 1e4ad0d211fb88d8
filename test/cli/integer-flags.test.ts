import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {baseEnv, BIN, OCLIF_ENTRY, runCli, tempDir} from '../support/cli.js'

/**
 * Integer flags are checked by the settings engine on both paths (lib/cli/resolver-flags.ts):
 * the same values accepted (` 3`, as KEYFLOW_* variables are read), the same words for those
 * refused. oclif's Flags.integer refused ` 3` and worded its errors its own way.
 */
describe('integer flags on the fast path and on oclif\'s path', () => {
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
    it(`keyflow ${JSON.stringify(argv)}: accepted on both paths`, async () => {
      const [fast, oclif] = await both(argv)
      expect([fast.code, oclif.code], fast.stderr + oclif.stderr).to.deep.equal([0, 0])
    })
  }

  it('secret get PLAIN --aws-max-attempts 0: the same stderr on both paths', async () => {
    const [fast, oclif] = await both(['secret', 'get', 'PLAIN', '--aws-max-attempts', '0'])
    expect(fast.stderr).to.equal(oclif.stderr).and.to.match(/Expected a whole number from 1 to 20/)
  })
})
