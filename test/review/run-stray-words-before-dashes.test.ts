import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {baseEnv, BIN, OCLIF_ENTRY, runCli, tempDir} from '../support/cli.js'

/**
 * Review (issue 16): words before `--` that are neither a flag nor a flag's value. The fast path
 * refuses to serve them (parseArgv hands them to oclif), and oclif's Run (strict = false) drops
 * them without a word: `keyflow run DB_PASSWORD -- cmd` (a forgotten --secret) or
 * `keyflow run --secret A extra -- cmd` run the command, exit 0, the words ignored. A usage
 * error (exit 2) is what every other unexpected argument gets.
 */
describe('review: run with stray words before --', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    env = {...baseEnv(dir.path), PLAIN: 'plain-value'}
  })

  after(() => dir.cleanup())

  for (const script of [BIN, OCLIF_ENTRY]) {
    it(`${script === BIN ? 'bin/run.js' : "oclif's path"}: run --secret PLAIN extra -- true is a usage error (exit 2)`, async () => {
      const result = await runCli(['run', '--secret', 'PLAIN', 'extra', '--', 'true'], {cwd: dir.path, env, script})
      expect(result.code, result.stderr).to.equal(2)
    })
  }
})
