import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, ROOT, tempDir} from '../support/cli.js'

/** Inverts 64 bytes a third of the way into a cache file. */
function damage(cache: string) {
  const bytes = readFileSync(cache)
  const from = Math.floor(bytes.length / 3)
  for (let index = from; index < from + 64; index++) bytes[index] = 255 - bytes[index]
  writeFileSync(cache, bytes)
}

/**
 * The bundles start from V8 code caches (bin/run.js), which V8 checks by length, version
 * and flags only: a damaged cache must not crash V8, and a bundle changed in place must not run
 * its old cached code. Each case runs a copy of the built tree.
 */
describe('packaging: the V8 code caches', () => {
  let dir: ReturnType<typeof tempDir>
  let tree: string

  before(() => {
    dir = tempDir()
    tree = join(dir.path, 'tree')
    expect(spawnSync('mkdir', [tree]).status).to.equal(0)
    const copied = spawnSync('cp', ['-a', ...['bin', 'dist', 'package.json', 'oclif.manifest.json', 'scripts'].map((part) => join(ROOT, part)), tree])
    expect(copied.status, String(copied.stderr)).to.equal(0)
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'))
    // A copy has other inodes than the build's files: the copy's caches and stamps as its build would write them.
    const cached = spawnSync(process.execPath, [join(tree, 'scripts', 'code-cache.cjs')], {encoding: 'utf8'})
    expect(cached.status, cached.stderr).to.equal(0)
  })

  after(() => dir?.cleanup())

  const trace = () => join(dir.path, 'builtins.txt')
  const keyflow = (args: string[]) =>
    spawnSync(process.execPath, [join(tree, 'bin', 'run.js'), ...args], {
      encoding: 'utf8',
      env: {...baseEnv(dir.path), KEYFLOW_HOME: join(dir.path, 'home'), KEYFLOW_TEST_BUILTIN_TRACE: trace(), NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`},
    })
  const checksummed = () => readFileSync(trace(), 'utf8').split('\n').includes('NativeModule zlib')

  // First: the cases below change the tree.
  it('each command compiles its own bundle from its cache: secret get, run, and oclif\'s for the other commands', () => {
    const uses = join(dir.path, 'cache-use.txt')
    // With the fast path's bundles each loads (every command but run is offered to secret get's first).
    for (const [args, bundle, fastBundles] of [
      [['secret', 'get', 'HOME'], 'fast-path-get.cjs', ['fast-path-get.cjs']],
      [['run', '--allow-empty', '--', 'true'], 'fast-path-run.cjs', ['fast-path-run.cjs']],
      [['block', 'ls'], 'oclif.cjs', ['fast-path-get.cjs']],
    ] as const) {
      const result = spawnSync(process.execPath, [join(tree, 'bin', 'run.js'), ...args], {
        encoding: 'utf8',
        env: {...baseEnv(dir.path), KEYFLOW_HOME: join(dir.path, 'home'), KEYFLOW_TEST_CODE_CACHE_TRACE: uses, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'code-cache-use.cjs')}`},
      })
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).to.equal(0)
      const compiled = readFileSync(uses, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as {file: string; given: boolean; rejected: boolean})
      expect(compiled.filter(({file}) => file.endsWith(bundle)), args.join(' ')).to.deep.equal([{file: join(tree, 'dist', bundle), given: true, rejected: false}])
      expect(compiled.map(({file}) => file.slice(join(tree, 'dist').length + 1)).filter((file) => file.startsWith('fast-path')), args.join(' ')).to.deep.equal(fastBundles)
    }
  })

  it('a bundle and cache as the build stamped them are used without computing the checksum', () => {
    const version = keyflow(['--version'])
    expect([version.status, version.stderr]).to.deep.equal([0, ''])
    expect(checksummed(), 'node:zlib loaded for the CRC-32').to.equal(false)
  })

  it('a pair whose times moved since its stamp is checked by its checksum once, then stamped again', () => {
    const later = Date.now() / 1000 + 60
    utimesSync(join(tree, 'dist', 'fast-path-get.cjs.v8-cache'), later, later)
    const version = keyflow(['--version'])
    expect([version.status, version.stderr]).to.deep.equal([0, ''])
    expect(checksummed(), 'node:zlib loaded for the CRC-32').to.equal(true)
    expect(keyflow(['--version']).status).to.equal(0)
    expect(checksummed(), 'checked again though stamped').to.equal(false)
  })

  /** Changes `file` by `change`, then puts its modification time back, as `touch -r`, `cp -p` or a restore from a backup do. */
  const changeKeepingTimes = (file: string, change: () => void) => {
    const reference = join(dir.path, 'times')
    expect(spawnSync('cp', ['-p', file, reference]).status).to.equal(0)
    change()
    const touched = spawnSync('touch', ['-r', reference, file], {encoding: 'utf8'})
    expect(touched.status, touched.stderr).to.equal(0)
  }

  it('a cache damaged in place, its modification time put back, is not trusted by its stamp: no crash', () => {
    expect(keyflow(['block', 'ls']).status).to.equal(0)
    expect(checksummed(), 'the stamped oclif bundle was checked').to.equal(false)
    const cache = join(tree, 'dist', 'oclif.cjs.v8-cache')
    changeKeepingTimes(cache, () => damage(cache))
    const damaged = keyflow(['block', 'ls'])
    expect([damaged.status, damaged.signal], damaged.stderr).to.deep.equal([0, null])
    expect(damaged.stdout).to.include('No blocks.')
    expect(checksummed(), 'the checksum was skipped').to.equal(true)
  })

  it('a bundle edited in place, to the same length, its modification time put back, runs as edited', () => {
    const bundle = join(tree, 'dist', 'fast-path-get.cjs')
    const source = readFileSync(bundle, 'utf8')
    expect(source).to.include(' node-${')
    expect(keyflow(['--version']).stdout).to.include(' node-v')
    try {
      changeKeepingTimes(bundle, () => writeFileSync(bundle, source.replace(' node-${', ' NoDe-${')))
      const version = keyflow(['--version'])
      expect(version.status, version.stderr).to.equal(0)
      expect(version.stdout).to.include(' NoDe-v')
    } finally {
      writeFileSync(bundle, source)
    }
  })

  it('a stamp is written through a file of its own: not through a link someone left at its temporary name', () => {
    const victim = join(dir.path, 'victim.txt')
    writeFileSync(victim, 'not keyflow\'s\n')
    const later = Date.now() / 1000 + 120
    utimesSync(join(tree, 'dist', 'fast-path-get.cjs.v8-cache'), later, later)
    // exec keeps the shell's process id, which names the temporary file.
    const script = `ln -s "$1" "$2.v8-stamp.$$" && exec "$3" "$4" --version`
    const args = [victim, join(tree, 'dist', 'fast-path-get.cjs'), process.execPath, join(tree, 'bin', 'run.js')]
    const version = spawnSync('sh', ['-c', script, 'sh', ...args], {encoding: 'utf8', env: baseEnv(dir.path)})
    expect([version.status, version.stderr]).to.deep.equal([0, ''])
    expect(readFileSync(victim, 'utf8')).to.equal('not keyflow\'s\n')
  })

  it('a stamp naming a damaged cache\'s old times does not let it through', () => {
    const cache = join(tree, 'dist', 'fast-path-get.cjs.v8-cache')
    damage(cache)
    const version = keyflow(['--version'])
    expect([version.status, version.signal, version.stderr]).to.deep.equal([0, null, ''])
    expect(checksummed(), 'the checksum was skipped').to.equal(true)
  })

  it('a damaged cache is ignored: the bundle compiles from source, no crash', () => {
    damage(join(tree, 'dist', 'fast-path-get.cjs.v8-cache'))
    damage(join(tree, 'dist', 'oclif.cjs.v8-cache'))
    const version = keyflow(['--version'])
    expect([version.status, version.signal, version.stderr]).to.deep.equal([0, null, ''])
    expect(version.stdout).to.match(/^keyflow\/\d+\.\d+\.\d+ /)
    const list = keyflow(['block', 'ls'])
    expect([list.status, list.signal], list.stderr).to.deep.equal([0, null])
    expect(list.stdout).to.include('No blocks.')
  })

  it('a bundle edited in place, to the same length, runs as edited, not as cached', () => {
    const bundle = join(tree, 'dist', 'fast-path-get.cjs')
    const source = readFileSync(bundle, 'utf8')
    expect(source).to.include(' node-${')
    writeFileSync(bundle, source.replace(' node-${', ' NODE-${'))
    const version = keyflow(['--version'])
    expect(version.status, version.stderr).to.equal(0)
    expect(version.stdout).to.include(' NODE-v')
  })
  /**
   * What someone who may write dist/ could put in place of a cache or a stamp. The loader opens
   * them by name: a FIFO would block its open for good, and a huge file would be read whole. A
   * GiB, sparse (no disk used): under the 2 GiB that Node refuses to read into one buffer.
   */
  const notACacheFile: Record<string, (path: string) => void> = {
    'a 1 GiB file'(path) {
      writeFileSync(path, '')
      truncateSync(path, 1024 ** 3)
    },
    'a directory': (path) => mkdirSync(path),
    'a FIFO'(path) {
      expect(spawnSync('mkfifo', ['-m', '600', path]).status).to.equal(0)
    },
  }
  for (const [part, name] of [
    ['cache', 'fast-path-get.cjs.v8-cache'],
    ['stamp', 'fast-path-get.cjs.v8-stamp'],
  ] as const) {
    for (const [what, make] of Object.entries(notACacheFile)) {
      it(`${what} in place of a bundle's ${part} is passed over, never waited on or read whole: keyflow answers`, () => {
        const path = join(tree, 'dist', name)
        const original = readFileSync(path)
        const maxRss = join(dir.path, 'max-rss.txt')
        rmSync(path)
        make(path)
        try {
          const result = spawnSync(process.execPath, [join(tree, 'bin', 'run.js'), 'secret', 'get', 'HOME'], {
            encoding: 'utf8',
            env: {...baseEnv(dir.path), KEYFLOW_HOME: join(dir.path, 'home'), KEYFLOW_TEST_MAX_RSS: maxRss, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'max-rss.cjs')}`},
            // Not a measurement: a start blocked on the FIFO would otherwise hang the suite, rather than fail this test.
            timeout: 20_000,
          })
          expect([result.status, result.signal, result.stderr]).to.deep.equal([0, null, ''])
          expect(result.stdout).to.equal(`${dir.path}\n`)
          // A start is some 50 MiB; one that read the GiB file has a GiB resident.
          expect(Number(readFileSync(maxRss, 'utf8')), 'peak RSS, KiB').to.be.below(256 * 1024)
        } finally {
          rmSync(path, {force: true, recursive: true})
          writeFileSync(path, original)
        }
      })
    }
  }
})
