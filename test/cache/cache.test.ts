import {expect} from 'chai'
import {before, describe, it} from 'mocha'
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {shiftCacheEntries} from '../support/cache-age.js'
import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {baseEnv, BIN, CliResult, ROOT, runCli} from '../support/cli.js'
import {startCountingProxy} from '../support/counting-proxy.mjs'
import {ACCESS_DENIED, FaultRule, THROTTLING, UNAVAILABLE} from '../support/fault-proxy.js'
import {motoClient} from '../support/moto.js'
import {faultProxyPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

const MINUTE = 60_000

/**
 * The encrypted cache (docs/cache.md), through the built CLI against moto behind the fault
 * proxy. Ages are set by rewriting entries with keyflow's own cache store (the clock is never
 * waited on): an entry "10 minutes old" is one whose storedAt is 10 minutes back.
 */
describe('cache', () => {
  const moto = motoPerFile({resetEachTest: false})
  const proxy = faultProxyPerFile(moto)
  const dir = tempDirPerTest()
  const values = {A: canary('a'), B: canary('b'), JSON: JSON.stringify({password: canary('pw')}), PINNED: canary('pinned')}
  const canaries = [values.A, values.B, values.PINNED, JSON.parse(values.JSON).password]
  let pinnedVersion: string

  before(async () => {
    const sm = await motoClient(moto)
    for (const [name, value] of Object.entries(values)) {
      // eslint-disable-next-line no-await-in-loop
      const created = await sm.create(name, value)
      if (name === 'PINNED') pinnedVersion = created.VersionId!
    }
  })

  const home = () => join(dir.path, '.keyflow')
  const cacheDir = () => join(home(), 'cache')
  const entryFiles = () => readdirSync(cacheDir()).filter((name) => name.endsWith('.entry'))

  async function keyflow(args: string[], {env = {}, rules = []}: {env?: Record<string, string>; rules?: FaultRule[]} = {}): Promise<CliResult> {
    proxy.reset(rules)
    const result = await runCli(args, {cwd: dir.path, env: {...baseEnv(dir.path), ...proxy.env, ...env}})
    assertNoCanary(result.stderr, canaries, 'stderr')
    return result
  }

  const get = (name: string, flags: string[] = [], options: Parameters<typeof keyflow>[1] = {}) =>
    keyflow(['secret', 'get', name, '--sources', 'aws', '--no-newline', '--cache-ttl', '5m', '--cache-max-stale', '1h', '--aws-max-attempts', '1', ...flags], options)

  const shiftEntries = (ms: number) => shiftCacheEntries(home(), ms)

  const provenance = (result: CliResult) => JSON.parse(result.stdout).secrets[0].provenance

  it('a fresh entry is served without asking AWS, and says so in --json and --explain', async () => {
    const cold = await get('A', ['--json'])
    expect(cold.code).to.equal(0)
    expect(provenance(cold).cache.state).to.equal('stored')
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})

    const warm = await get('A', ['--json'])
    expect(JSON.parse(warm.stdout).secrets[0].value === values.A).to.equal(true)
    expect(provenance(warm).cache).to.include({state: 'fresh'})
    expect(proxy.counts).to.deep.equal({})

    const explained = await get('A', ['--explain'])
    expect(explained.stdout).to.match(/aws +hit +found arn:aws:secretsmanager:\S+ version \S+ \(AWSCURRENT\) \[cache: fresh, age \w+\]/)
    expect(proxy.counts).to.deep.equal({})
  })

  it('a fresh hit loads neither the AWS SDK nor what only a miss needs (the entry lock\'s node:os, the write\'s node:fs/promises)', async () => {
    expect((await get('A')).code).to.equal(0)
    const trace = join(dir.path, 'builtins.txt')
    const hit = await get('A', [], {env: {KEYFLOW_TEST_BUILTIN_TRACE: trace, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`}})
    expect([hit.code, hit.stdout === values.A, proxy.counts]).to.deep.equal([0, true, {}])
    const loaded = readFileSync(trace, 'utf8').split('\n')
    // node:crypto is the hit's own: it decrypts the entry.
    expect(loaded).to.include('NativeModule crypto')
    expect(loaded.filter((line) => ['NativeModule fs/promises', 'NativeModule os'].includes(line) || line.includes('@aws-sdk'))).to.deep.equal([])
  })

  it('a JSON key is picked from the cached secret', async () => {
    await get('JSON')
    const picked = await get('JSON#password')
    expect(picked.stdout === JSON.parse(values.JSON).password).to.equal(true)
    expect(proxy.counts).to.deep.equal({})
  })

  it('without cache.ttl nothing is cached; --no-cache bypasses an enabled cache', async () => {
    await keyflow(['secret', 'get', 'A', '--sources', 'aws'])
    expect(() => readdirSync(cacheDir())).to.throw()
    await get('A')
    const bypassed = await get('A', ['--no-cache'])
    expect(bypassed.stdout === values.A).to.equal(true)
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
  })

  it('secret set and secret rm to AWS drop the cached entries of the secret they wrote', async () => {
    const sm = await motoClient(moto)
    await sm.create('ROTATED', values.B)
    await get('ROTATED')
    expect(entryFiles()).to.have.length(1)
    const fresh = canary('rotated')
    const set = await runCli(['secret', 'set', 'ROTATED', '--to', 'aws'], {cwd: dir.path, env: {...baseEnv(dir.path), ...proxy.env}, input: fresh})
    expect(set.code, set.stderr).to.equal(0)
    expect(entryFiles()).to.have.length(0)
    const after = await get('ROTATED')
    expect(after.stdout === fresh).to.equal(true)
    const removed = await runCli(['secret', 'rm', 'ROTATED', '--to', 'aws', '--yes', '--force-delete-now'], {cwd: dir.path, env: {...baseEnv(dir.path), ...proxy.env}})
    expect(removed.code, removed.stderr).to.equal(0)
    expect(entryFiles()).to.have.length(0)
  })

  it('a stale entry is revalidated: one call, the current value', async () => {
    await get('A')
    await shiftEntries(-10 * MINUTE)
    const again = await get('A', ['--json'])
    expect(provenance(again).cache.state).to.equal('revalidated')
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
  })

  it('a 503 storm serves the stale value within maxStale, with a warning naming the secret and its age', async () => {
    await get('A')
    await shiftEntries(-10 * MINUTE)
    const storm = await get('A', ['--json'], {rules: [{fault: UNAVAILABLE}]})
    expect(storm.code).to.equal(0)
    expect(JSON.parse(storm.stdout).secrets[0].value === values.A).to.equal(true)
    expect(provenance(storm).cache).to.include({state: 'stale'})
    expect(storm.stderr).to.match(/Warning: AWS Secrets Manager failed\. Serving "A" from the cache, 10m\d*s? old \(cache\.maxStale 1h\)/)

    const throttled = await get('A', [], {rules: [{fault: THROTTLING}]})
    expect(throttled.code).to.equal(0)
    expect(throttled.stderr).to.match(/throttled the requests\. Serving "A" from the cache/)
  })

  it('past maxStale a 503 storm is the failure it is (exit 4)', async () => {
    await get('A')
    await shiftEntries(-2 * 60 * MINUTE)
    const storm = await get('A', [], {rules: [{fault: UNAVAILABLE}]})
    expect(storm.code).to.equal(4)
    expect(storm.stdout).to.equal('')
    expect(storm.stderr).to.match(/HTTP 503/)
  })

  it('AccessDenied passes through, is never served from the cache, and drops the entry', async () => {
    await get('A')
    await shiftEntries(-10 * MINUTE)
    const denied = await get('A', [], {rules: [{fault: ACCESS_DENIED}]})
    expect(denied.code).to.equal(4)
    expect(denied.stdout).to.equal('')
    expect(denied.stderr).to.match(/AWS denied access/)
    const offline = await get('A', ['--offline'])
    expect(offline.code).to.equal(4)
    expect(offline.stderr).to.match(/not in the cache/)
  })

  it('a secret deleted in AWS is "not found", never the cached value', async () => {
    const sm = await motoClient(moto)
    await sm.create('DOOMED', values.B)
    await get('DOOMED')
    await shiftEntries(-10 * MINUTE)
    await sm.client.send(new sm.sdk.DeleteSecretCommand({ForceDeleteWithoutRecovery: true, SecretId: 'DOOMED'}))
    const gone = await get('DOOMED')
    expect(gone.code).to.equal(3)
    expect(gone.stdout).to.equal('')
  })

  it('offline: served from the cache with no AWS call; an empty cache names what it could not serve (exit 4)', async () => {
    const empty = await get('A', ['--offline'])
    expect(empty.code).to.equal(4)
    expect(empty.stderr).to.match(/Offline, and it is not in the cache[\s\S]*secret "A"/)
    expect(proxy.counts).to.deep.equal({})

    await get('A')
    await shiftEntries(-30 * MINUTE)
    const offline = await get('A', ['--json'], {env: {KEYFLOW_OFFLINE: '1'}})
    expect(offline.code).to.equal(0)
    expect(provenance(offline).cache.state).to.equal('stale')
    expect(proxy.counts).to.deep.equal({})

    const both = await keyflow(['secret', 'get', 'A', 'B', '--sources', 'aws', '--format', 'json', '--cache-ttl', '5m', '--cache-max-stale', '1h', '--offline'])
    expect(both.code).to.equal(4)
    expect(both.stderr).to.match(/Offline, and it is not in the cache[\s\S]*secret "B"/)
    expect(both.stderr).to.not.match(/secret "A"/)
  })

  it('an entry copied under another secret\'s name is a miss, never that secret\'s value', async () => {
    await keyflow(['secret', 'get', 'A', '--sources', 'aws', '--cache-ttl', '5m'])
    const [fileA] = entryFiles()
    await keyflow(['secret', 'get', 'B', '--sources', 'aws', '--cache-ttl', '5m'])
    const fileB = entryFiles().find((name) => name !== fileA)!
    copyFileSync(join(cacheDir(), fileA), join(cacheDir(), fileB))
    const b = await get('B')
    expect(b.stdout === values.B).to.equal(true)
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
  })

  it('a corrupt entry is a miss', async () => {
    await get('A')
    for (const name of entryFiles()) writeFileSync(join(cacheDir(), name), '{"v":1,"ct":"AAAA","iv":"AAAA","kid":"x","tag":"AAAA"}')
    const again = await get('A')
    expect(again.code).to.equal(0)
    expect(again.stdout === values.A).to.equal(true)
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
  })

  it('an entry from the future (the clock went back) is stale, and is not served as stale', async () => {
    await get('A')
    await shiftEntries(60 * MINUTE)
    const again = await get('A', ['--json'])
    expect(provenance(again).cache.state).to.equal('revalidated')
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
    await shiftEntries(60 * MINUTE)
    const storm = await get('A', [], {rules: [{fault: UNAVAILABLE}]})
    expect(storm.code).to.equal(4)
  })

  it('a pinned version id stays fresh past the TTL, until maxStale', async () => {
    const reference = `aws-sm://PINNED?version-id=${pinnedVersion}`
    await get(reference)
    await shiftEntries(-30 * MINUTE)
    const pinned = await get(reference, ['--json'])
    expect(provenance(pinned).cache.state).to.equal('fresh')
    expect(proxy.counts).to.deep.equal({})
    await shiftEntries(-60 * MINUTE)
    await get(reference)
    expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
  })

  it('a full disk (here: a file size limit) still answers from AWS, and warns that nothing was cached', async function () {
    if (spawnSync('prlimit', ['--version']).status !== 0) this.skip()
    proxy.reset()
    // Spawned asynchronously: the proxy answering keyflow runs in this process.
    const child = spawn('prlimit', ['--fsize=200', process.execPath, '--', BIN, 'secret', 'get', 'A', '--sources', 'aws', '--cache-ttl', '5m', '--no-newline'], {
      cwd: dir.path,
      env: {...baseEnv(dir.path), ...proxy.env},
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    const status = await new Promise((resolve) => {
      child.on('close', resolve)
    })
    const limited = {status, stderr: Buffer.concat(err), stdout: Buffer.concat(out)}
    expect(limited.status).to.equal(0)
    expect(limited.stdout.toString() === values.A).to.equal(true)
    expect(limited.stderr.toString()).to.match(/Could not write the cache entry for "A" \(\w+\); the value came from AWS and is not cached\./)
    expect(entryFiles()).to.deep.equal([])
  })

  describe('bad input', () => {
    const cases: Array<[string, string[], Record<string, string>]> = [
      ['--cache-ttl 5x', ['--cache-ttl', '5x'], {}],
      ['--cache-ttl 0', ['--cache-ttl', '0s'], {}],
      ['KEYFLOW_CACHE_TTL=soon', [], {KEYFLOW_CACHE_TTL: 'soon'}],
      ['KEYFLOW_OFFLINE=maybe', [], {KEYFLOW_CACHE_TTL: '5m', KEYFLOW_OFFLINE: 'maybe'}],
    ]
    for (const [what, flags, env] of cases) {
      it(`${what}: a usage error (exit 2) naming where`, async () => {
        const result = await keyflow(['secret', 'get', 'A', '--sources', 'aws', ...flags], {env})
        expect(result.code).to.equal(2)
        expect(result.stderr).to.match(/Expected (a duration|true or false)/)
        expect(result.stderr).to.match(/where: (flag --cache-ttl|env KEYFLOW_)/)
        expect(proxy.counts).to.deep.equal({})
      })
    }

    it('cache.maxStale shorter than cache.ttl, and an unknown cache key, in keyflow.json', async () => {
      writeFileSync(join(dir.path, 'keyflow.json'), JSON.stringify({cache: {maxStale: '1m', ttl: '10m'}}))
      const short = await keyflow(['secret', 'get', 'A', '--sources', 'aws'], {env: {KEYFLOW_PROJECT_FILE: join(dir.path, 'keyflow.json')}})
      expect(short.code).to.equal(2)
      expect(short.stderr).to.match(/cache\.maxStale \(1m\) is shorter than cache\.ttl \(10m\)/)
      writeFileSync(join(dir.path, 'keyflow.json'), JSON.stringify({cache: {tll: '10m'}}))
      const typo = await keyflow(['secret', 'get', 'A', '--sources', 'aws'], {env: {KEYFLOW_PROJECT_FILE: join(dir.path, 'keyflow.json')}})
      expect(typo.code).to.equal(2)
      expect(typo.stderr).to.match(/Unknown key "cache\.tll"/)
    })

    it('keyflow.json {"cache": {"ttl": "10m", "maxStale": "24h"}} turns the cache on', async () => {
      writeFileSync(join(dir.path, 'keyflow.json'), JSON.stringify({cache: {maxStale: '24h', ttl: '10m'}}))
      const env = {KEYFLOW_PROJECT_FILE: join(dir.path, 'keyflow.json')}
      await keyflow(['secret', 'get', 'A', '--sources', 'aws'], {env})
      const warm = await keyflow(['secret', 'get', 'A', '--sources', 'aws', '--json'], {env})
      expect(provenance(warm).cache.state).to.equal('fresh')
      expect(proxy.counts).to.deep.equal({})
    })
  })

  describe('a cache directory another user controls is refused (exit 8)', () => {
    it('owned by another user', async function () {
      if (process.getuid?.() !== 0) this.skip()
      mkdirSync(cacheDir(), {mode: 0o700, recursive: true})
      chownSync(cacheDir(), 65_534, 65_534)
      const result = await get('A')
      expect(result.code).to.equal(8)
      expect(result.stderr).to.match(/The cache directory is owned by another user; keyflow will not use it/)
      expect(proxy.counts).to.deep.equal({})
    })

    it('writable by group or others', async () => {
      mkdirSync(cacheDir(), {recursive: true})
      chmodSync(cacheDir(), 0o777)
      const result = await get('A')
      expect(result.code).to.equal(8)
      expect(result.stderr).to.match(/writable by group or others \(mode 777\)[\s\S]*chmod 700/)
    })

    it('created 0700, entries 0600', async () => {
      await get('A')
      // eslint-disable-next-line no-bitwise
      expect(statSync(cacheDir()).mode & 0o777).to.equal(0o700)
      // eslint-disable-next-line no-bitwise
      for (const name of entryFiles()) expect(statSync(join(cacheDir(), name)).mode & 0o777).to.equal(0o600)
    })
  })

  describe('cache ls and cache clear', () => {
    it('ls names secrets, versions, ages and states, never values; the directory holds only ciphertext', async () => {
      await get('A')
      await get('JSON')
      await get(`aws-sm://PINNED?version-id=${pinnedVersion}`)
      const listed = await keyflow(['cache', 'ls', '--cache-ttl', '5m'])
      expect(listed.code).to.equal(0)
      expect(listed.stdout).to.match(/^NAME +VERSION +REGION +AGE +STATE +FRESH UNTIL$/m)
      expect(listed.stdout).to.match(/^A +AWSCURRENT +us-east-1 +\S+ +fresh +\d{4}-/m)
      expect(listed.stdout).to.match(new RegExp(`^PINNED +${pinnedVersion} `, 'm'))
      const json = await keyflow(['cache', 'ls', '--json'])
      const {entries} = JSON.parse(json.stdout)
      expect(entries.map((entry: {secretId: string}) => entry.secretId)).to.deep.equal(['A', 'JSON', 'PINNED'])
      for (const output of [listed.stdout, json.stdout]) assertNoCanary(output, canaries, 'cache ls')
      assertNoCanaryInTree(home(), canaries)
      // Not even the names are on disk in the clear.
      for (const name of readdirSync(cacheDir())) expect(name).to.match(/^[\da-f]{40}\.entry$/)
      const raw = readdirSync(cacheDir()).map((name) => String(spawnSync('cat', [join(cacheDir(), name)]).stdout)).join('')
      expect(raw).to.not.match(/PINNED|"A"|JSON|AWSCURRENT|us-east-1/)
    })

    it('clear NAME drops that secret\'s entries; clear drops all', async () => {
      await get('A')
      await get('B')
      const one = await keyflow(['cache', 'clear', 'A', '--json'])
      expect(JSON.parse(one.stdout)).to.deep.equal({removed: 1})
      await get('A')
      expect(proxy.counts).to.deep.equal({GetSecretValue: 1})
      await get('B')
      expect(proxy.counts).to.deep.equal({})
      const all = await keyflow(['cache', 'clear'])
      expect(all.stdout).to.equal('Removed 2 cache entries.\n')
      expect(entryFiles()).to.deep.equal([])
    })
  })

  it('50 concurrent cold gets make one AWS call (single-flight through the file system)', async () => {
    const counting = await startCountingProxy(moto.url, {delayMs: 50})
    try {
      const env = {...baseEnv(dir.path), ...moto.env, AWS_ENDPOINT_URL: counting.url, KEYFLOW_CACHE_TTL: '5m'}
      const results = await Promise.all(
        Array.from({length: 50}, () => runCli(['secret', 'get', 'A', '--sources', 'aws', '--no-newline'], {cwd: dir.path, env, timeoutMs: 120_000})),
      )
      expect(results.filter((result) => result.code !== 0 || result.stdout !== values.A)).to.have.length(0)
      expect(Object.fromEntries(counting.counts)).to.deep.equal({'secretsmanager.GetSecretValue': 1})
    } finally {
      await counting.stop()
    }
  })
})
