import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, ROOT, runCli, tempDir} from '../support/cli.js'

/**
 * What `keyflow run -- true` loads with nothing to inject, the row of bench/startup.bench.mjs that
 * compares it with a Node script spawning the same command: each Node built-in module below
 * costs a tenth of a millisecond or more to load, and that run needs none of them.
 */
const NOT_NEEDED = ['crypto', 'os', 'zlib']

describe('run: what a run with nothing to inject loads', () => {
  let dir: ReturnType<typeof tempDir>

  before(() => {
    dir = tempDir()
  })

  after(() => dir.cleanup())

  it('none of the built-in modules it does not need', async () => {
    const trace = join(dir.path, 'builtins.txt')
    const env = {...baseEnv(dir.path), KEYFLOW_TEST_BUILTIN_TRACE: trace, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`}
    const result = await runCli(['run', '--allow-empty', '--', 'true'], {cwd: dir.path, env})
    expect([result.code, result.stdout, result.stderr]).to.deep.equal([0, '', ''])
    const loaded = readFileSync(trace, 'utf8').split('\n')
    expect(loaded.filter((line) => NOT_NEEDED.some((name) => line === `NativeModule ${name}`))).to.deep.equal([])
  })
})
