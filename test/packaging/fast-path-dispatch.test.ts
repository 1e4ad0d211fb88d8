import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, ROOT, tempDir} from '../support/cli.js'

/**
 * Which bundles each form of argv compiles (test/support/code-cache-use.cjs): a fast command
 * that silently fell through to oclif would still print the same (test/cli/exit-codes.test.ts
 * checks both paths agree), only 2.5 times slower. The fast commands never reach oclif's bundle,
 * and every other command reaches it through secret get's. A fast command's cold paths load its
 * bundle's lazy part, and only they do.
 */
describe('packaging: bin/run.js dispatch, bundle by bundle', () => {
  let dir: ReturnType<typeof tempDir>

  before(() => {
    dir = tempDir()
  })

  after(() => dir?.cleanup())

  const compiled = (args: string[]) => {
    const uses = join(dir.path, 'uses.txt')
    const result = spawnSync(process.execPath, ['--', join(ROOT, 'bin', 'run.js'), ...args], {
      cwd: dir.path,
      encoding: 'utf8',
      env: {...baseEnv(dir.path), DISPATCH_NAME: 'dispatch-value', KEYFLOW_TEST_CODE_CACHE_TRACE: uses, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'code-cache-use.cjs')}`},
    })
    expect(result.signal, result.stderr).to.equal(null)
    return readFileSync(uses, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as {file: string}).file.slice(join(ROOT, 'dist').length + 1))
  }

  for (const [args, bundles] of [
    [['secret', 'get', 'DISPATCH_NAME'], ['fast-path-get.cjs']],
    [['secret:get', 'DISPATCH_NAME'], ['fast-path-get.cjs']],
    [['secret', 'get', 'DISPATCH_NAME', '--json'], ['fast-path-get.cjs']],
    [['--version'], ['fast-path-get.cjs']],
    [['--version', '--json'], ['fast-path-get.cjs']],
    [['__complete', 'secret', 'g'], ['fast-path-get.cjs']],
    [['run', '--allow-empty', '--', 'true'], ['fast-path-run.cjs']],
    [['run', '--secret', 'DISPATCH_NAME', '--', 'true'], ['fast-path-run.cjs']],
    [['run', '--allow-empty', '--', 'echo', '--version'], ['fast-path-run.cjs']],
    [['run', '--help'], ['fast-path-run.cjs', 'oclif.cjs']],
    // The modules off the hot paths are in each bundle's lazy part (scripts/bundle.mjs, LAZY).
    [['run', '--block', 'secret/absent', '--', 'true'], ['fast-path-run.cjs', 'fast-path-run-lazy.cjs']],
    [['run', '--explain', '--secret', 'DISPATCH_NAME', '--', 'true'], ['fast-path-run.cjs', 'fast-path-run-lazy.cjs']],
    [['secret', 'get', 'block://secret/absent'], ['fast-path-get.cjs', 'fast-path-get-lazy.cjs']],
    [['--json', 'secret', 'get', 'DISPATCH_NAME'], ['fast-path-get.cjs', 'oclif.cjs']],
    [[], ['fast-path-get.cjs', 'oclif.cjs']],
    [['block', 'ls'], ['fast-path-get.cjs', 'oclif.cjs']],
  ] as const) {
    it(`keyflow ${args.join(' ')}: ${bundles.join(', ')}`, () => {
      expect(compiled([...args])).to.deep.equal(bundles)
    })
  }
})
