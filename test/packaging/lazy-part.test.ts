import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, ROOT, tempDir} from '../support/cli.js'

const bundleText = (name: string) => readFileSync(join(ROOT, 'dist', `${name}.cjs`), 'utf8')

/**
 * Each fast-path bundle leaves the modules of its cold paths (the block store, the cache, AWS's
 * client, a pseudo-terminal, --explain) to a lazy part of its own (scripts/bundle.mjs, LAZY),
 * which must use the bundle's own instances of the modules both hold: a KeyflowError made in the
 * lazy part is one to the bundle's error renderer (a copy of the class would make it an internal
 * error, exit 1), and a setting resolved once is the one both read.
 */
describe('packaging: the fast bundles and their lazy parts', () => {
  let dir: ReturnType<typeof tempDir>

  before(() => {
    dir = tempDir()
  })

  after(() => dir?.cleanup())

  const keyflow = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {cwd: dir.path, encoding: 'utf8', env: {...baseEnv(dir.path), ...env}})

  for (const [fast, module] of [
    ['fast-path-get', 'src/lib/block/context.ts'],
    ['fast-path-get', 'src/lib/cache/store.ts'],
    ['fast-path-run', 'src/lib/block/context.ts'],
    ['fast-path-run', 'src/lib/run/terminal.ts'],
  ]) {
    it(`${module} is in ${fast}-lazy.cjs, not in ${fast}.cjs`, () => {
      // esbuild names each module it wraps (evaluated at its first import) by its path.
      expect(bundleText(fast)).not.to.include(JSON.stringify(module))
      expect(bundleText(`${fast}-lazy`)).to.include(JSON.stringify(module))
    })
  }

  it('loading a lazy part evaluates no shared module that loads node:crypto: run --explain of an env hit loads none', () => {
    const trace = join(dir.path, 'builtins.txt')
    const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'run', '--explain', '--secret', 'LAZY_EXPLAIN', '--', 'true'], {
      cwd: dir.path,
      encoding: 'utf8',
      env: {...baseEnv(dir.path), KEYFLOW_TEST_BUILTIN_TRACE: trace, LAZY_EXPLAIN: 'lazy-explain-value', NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`},
    })
    expect(result.status, result.stderr).to.equal(0)
    expect(readFileSync(trace, 'utf8').split('\n').filter((line) => ['NativeModule crypto', 'NativeModule fs/promises'].includes(line))).to.deep.equal([])
  })

  it("run's lazy part fails with the bundle's own KeyflowError: the documented exit code and message", () => {
    const result = keyflow(['run', '--block', 'secret/absent', '--', 'true'])
    expect(result.status, result.stderr).to.equal(3)
    expect(result.stderr).to.include('Unable to find block document named absent for block type secret')
    expect(result.stderr).not.to.match(/internal error|at .*\.cjs:\d+/i)
  })

  it("secret get's lazy part answers a block reference with the bundle's own chain and renderer", () => {
    const absent = keyflow(['secret', 'get', 'block://secret/absent', '--json'])
    expect(absent.status, absent.stderr).to.equal(3)
    expect((JSON.parse(absent.stderr) as {error: object}).error).to.deep.include({code: 'SECRET_NOT_FOUND', exit: 3})
  })

  it('a block created by oclif is read through the lazy part, from the one master key setting', () => {
    const key = Buffer.alloc(32, 7).toString('base64')
    const created = keyflow(['block', 'create', 'secret', 'lazy', '--field', 'value=env://LAZY_VALUE'], {KEYFLOW_MASTER_KEY: key})
    expect(created.status, created.stderr).to.equal(0)
    const got = keyflow(['secret', 'get', 'block://secret/lazy'], {KEYFLOW_MASTER_KEY: key, LAZY_VALUE: 'lazy-part-value'})
    expect([got.status, got.stdout, got.stderr]).to.deep.equal([0, 'lazy-part-value\n', ''])
    const run = keyflow(['run', '--block', 'secret/lazy', '--', 'sh', '-c', 'printf %s "$PREFECT__CONTEXT__SECRETS__SECRET__LAZY__VALUE" | wc -c'], {KEYFLOW_MASTER_KEY: key, LAZY_VALUE: 'lazy-part-value'})
    expect([run.status, run.stdout.trim(), run.stderr]).to.deep.equal([0, String('lazy-part-value'.length), ''])
  })

  it("an error the lazy part's own modules make (the local block store's) is the bundle's KeyflowError", () => {
    const key = Buffer.alloc(32, 7).toString('base64')
    expect(keyflow(['block', 'create', 'secret', 'corrupt', '--field', 'value=env://LAZY_VALUE'], {KEYFLOW_MASTER_KEY: key}).status).to.equal(0)
    writeFileSync(join(dir.path, '.keyflow', 'blocks', 'documents', 'secret', 'corrupt.json'), '{not json', {mode: 0o600})
    for (const args of [['secret', 'get', 'block://secret/corrupt'], ['run', '--block', 'secret/corrupt', '--', 'true']]) {
      const corrupt = keyflow(args, {KEYFLOW_MASTER_KEY: key})
      expect(corrupt.status, corrupt.stderr).to.equal(8)
      expect(corrupt.stderr).to.include('The block store file is corrupt')
    }
  })
})
