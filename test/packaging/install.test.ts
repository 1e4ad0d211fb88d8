import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, ROOT, tempDir} from '../support/cli.js'

/**
 * The package as users get it: `npm pack`, then a global install into a fresh prefix, used
 * from a fresh HOME. npm runs with --prefer-offline: the dependencies come from the npm cache
 * that `npm ci` filled where they are there; a global install resolves the ranges afresh (no
 * lockfile), so a newer transitive version (e.g. of @inquirer's) comes from the registry, which
 * CI reaches. dist/ is the build under test (the root hook
 * checks it exists), so packing skips the prepack build.
 */
describe('packaging: npm pack and a global install', function () {
  this.timeout(180_000)
  let dir: ReturnType<typeof tempDir>
  let tarball: string
  let files: string[]
  let prefix: string
  let installLog: string
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    const npmEnv = process.env
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir.path], {cwd: ROOT, encoding: 'utf8', env: npmEnv}))
    tarball = join(dir.path, packed[0].filename)
    files = packed[0].files.map((file: {path: string}) => file.path)
    prefix = join(dir.path, 'prefix')
    const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-update-notifier', '--no-fund', '--no-audit', tarball], {encoding: 'utf8', env: npmEnv})
    installLog = install.stdout + install.stderr
    expect(install.status, 'npm install').to.equal(0)
    const home = join(dir.path, 'home')
    env = {...baseEnv(home), PATH: `${join(prefix, 'bin')}:${process.env.PATH}`}
  })

  after(() => dir?.cleanup())

  const keyflow = (args: string[], input = '') => spawnSync('keyflow', args, {cwd: dir.path, encoding: 'utf8', env, input})

  it('ships the licence, the docs the help points to, the entry point and its bundles, not the ts-node entry', () => {
    expect(files).to.include.members(['LICENSE', 'README.md', 'bin/package.json', 'bin/run.js', 'dist/fast-path-get.cjs', 'dist/fast-path-get-lazy.cjs', 'dist/fast-path-run.cjs', 'dist/fast-path-run-lazy.cjs', 'docs/run.md', 'docs/blocks.md', 'oclif.manifest.json'])
    expect(files).not.to.include('bin/dev.mjs')
    // A stamp names the build machine's inodes and times (bin/run.js), and a temporary one may be left over.
    expect(files.filter((file) => file.includes('.v8-stamp'))).to.deep.equal([])
    expect(files.filter((file) => file.startsWith('test/') || file.startsWith('src/'))).to.deep.equal([])
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).to.match(/Apache License\s+Version 2\.0, January 2004/)
  })

  it('names its repository, homepage and issue tracker; runs no install-time scripts', () => {
    const manifest = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'keyflow', 'package.json'), 'utf8'))
    expect(manifest.repository.url).to.match(/^git\+https:/)
    expect(manifest.homepage).to.match(/^https:/)
    expect(manifest.bugs.url).to.match(/^https:/)
    expect(Object.keys(manifest.scripts)).not.to.include.members(['prepare', 'preinstall', 'install', 'postinstall'])
    expect(installLog).not.to.include('install-scripts')
  })

  // keyflow and its dependencies took 30.0 MB on 2026-12-02 (26 MB when the README's figure was first
  // measured: the AWS SDK's packages grow with each release). The bound leaves that growth some room and
  // still fails at once on a heavy dependency: the Snowflake driver alone is 122 MB.
  it('stays within 32 MB: the Snowflake driver is an optional peer, not a dependency', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(manifest.dependencies).not.to.have.property('snowflake-sdk')
    expect(manifest.peerDependenciesMeta['snowflake-sdk']).to.deep.equal({optional: true})
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'keyflow', 'node_modules', 'snowflake-sdk'))).to.equal(false)
    expect(diskUsage(prefix) / 2 ** 20).to.be.at.most(32)
  })

  it('runs from the PATH on a fresh HOME', () => {
    const result = keyflow(['--version'])
    expect(result.status).to.equal(0)
    expect(result.stdout).to.match(/^keyflow\/\d/)
  })

  it('serves secret get and run from the shipped bundles, with no bundler installed', () => {
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'esbuild'))).to.equal(false)
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'keyflow', 'node_modules', 'esbuild'))).to.equal(false)
    const get = spawnSync('keyflow', ['secret', 'get', 'PACKED_NAME'], {cwd: dir.path, encoding: 'utf8', env: {...env, PACKED_NAME: 'packed-value'}})
    expect(get.stdout).to.equal('packed-value\n')
    expect(get.status).to.equal(0)
    const run = spawnSync('keyflow', ['run', '--secret', 'PACKED_NAME', '--mask', 'never', '--', 'sh', '-c', 'printf %s "$PACKED_NAME"'], {cwd: dir.path, encoding: 'utf8', env: {...env, PACKED_NAME: 'packed-value'}})
    expect(run.stdout).to.equal('packed-value')
    expect(run.status).to.equal(0)
    // A cold path: the lazy part's modules (the block source's context), and its error, the bundle's own.
    const cold = spawnSync('keyflow', ['secret', 'get', 'block://secret/absent'], {cwd: dir.path, encoding: 'utf8', env})
    expect([cold.status, cold.stdout], cold.stderr).to.deep.equal([3, ''])
    expect(cold.stderr).to.include('was not found in any source')
  })

  it('checks the shipped code caches by their checksum once, then trusts the stamp it wrote', () => {
    const trace = join(dir.path, 'builtins.txt')
    const get = () => {
      const result = spawnSync('keyflow', ['secret', 'get', 'PACKED_NAME'], {
        cwd: dir.path,
        encoding: 'utf8',
        env: {...env, KEYFLOW_TEST_BUILTIN_TRACE: trace, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`, PACKED_NAME: 'packed-value'},
      })
      expect([result.status, result.stdout, result.stderr]).to.deep.equal([0, 'packed-value\n', ''])
      return readFileSync(trace, 'utf8').split('\n')
    }

    // npm gives installed files the time of the install, not the build's: the first start checks.
    get()
    expect(get(), 'node:zlib loaded for the CRC-32').not.to.include('NativeModule zlib')
  })

  it('keyflow init && keyflow doctor on a fresh HOME: a project set up, nothing wrong', () => {
    const project = join(dir.path, 'project')
    mkdirSync(project)
    // As a user has it: keyflow.json found from the working directory (the harness turns that off).
    const userEnv = Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'KEYFLOW_PROJECT_FILE'))
    const run = (args: string[]) => spawnSync('keyflow', args, {cwd: project, encoding: 'utf8', env: {...userEnv, SHELL: '/bin/bash'}})
    const init = run(['init'])
    expect(init.status, init.stderr).to.equal(0)
    expect(existsSync(join(project, 'keyflow.json'))).to.equal(true)
    const doctor = run(['doctor'])
    expect(doctor.status, doctor.stdout + doctor.stderr).to.equal(0)
    expect(doctor.stdout).to.match(/^ok {7}project {5}\S+keyflow\.json$/m)
    expect(doctor.stdout.trimEnd().split('\n').at(-1)).to.equal('Nothing is wrong.')
  })

  it('without the Snowflake driver, sql says how to install it (exit 9)', () => {
    expect(keyflow(['block', 'create', 'snowflake-credentials', 'c', '--field', 'account=acct', '--field', 'user=u', '--stdin-field', 'password'], 'pw').status).to.equal(0)
    expect(keyflow(['block', 'create', 'snowflake-connector', 'x', '--field', 'credentials=c', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W']).status).to.equal(0)
    const result = keyflow(['sql', '--block', 'snowflake-connector/x', 'SELECT 1', '--json'])
    expect(result.status).to.equal(9)
    const {error} = JSON.parse(result.stderr)
    expect(error.code).to.equal('SNOWFLAKE_DRIVER_MISSING')
    expect(error.fix).to.include('npm install -g snowflake-sdk@3')
  })
})

function diskUsage(path: string): number {
  const stat = lstatSync(path)
  if (!stat.isDirectory()) return stat.blocks * 512
  return readdirSync(path).reduce((total, entry) => total + diskUsage(join(path, entry)), stat.blocks * 512)
}
