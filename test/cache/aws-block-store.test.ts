import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {createHash} from 'node:crypto'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {harness, Harness} from '../support/block-harness.js'
import {shiftCacheEntries} from '../support/cache-age.js'
import {assertNoCanaryInTree, canary} from '../support/canary.js'
import {CliResult} from '../support/cli.js'
import {ACCESS_DENIED, FaultProxy, UNAVAILABLE} from '../support/fault-proxy.js'
import {faultProxyPerFile, motoPerFile} from '../support/suite-fixtures.js'

const PASSWORD_VAR = 'PREFECT__CONTEXT__SECRETS__SNOWFLAKE_CONNECTOR__PROD__CREDENTIALS__PASSWORD'
/** A child that prints a hash of the injected password, never the password. */
const HASH_CHILD = ['--', process.execPath, '-e', `process.stdout.write(require('node:crypto').createHash('sha256').update(process.env.${PASSWORD_VAR} ?? '').digest('hex'))`]
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const errorOf = (result: CliResult) => JSON.parse(result.stderr.slice(result.stderr.indexOf('{'))).error as {code: string; exit: number; message: string}
const awsCalls = (proxy: FaultProxy) => Object.values(proxy.counts).reduce((sum, count) => sum + count, 0)

/**
 * The aws block store's documents are Secrets Manager secrets, read through the same encrypted
 * cache as the AWS source (issue 14): the built CLI against moto behind the fault proxy, which
 * counts every call that reaches AWS. Entries are aged with keyflow's own cache store.
 */
describe('the aws block store and the cache (built CLI, moto)', () => {
  const moto = motoPerFile()
  const proxy = faultProxyPerFile(moto)
  let h: Harness
  let kf: (args: string[], env?: Record<string, string>) => Promise<CliResult>
  const password = canary('store-pw')
  const rotated = canary('store-pw-new')
  const run = (env?: Record<string, string>) => kf(['run', '--block', 'snowflake-connector/prod', ...HASH_CHILD], env)

  beforeEach(async () => {
    h = harness()
    h.canaries.push(password, rotated)
    kf = (args, env = {}) => h.kf(args, {env: {...proxy.env, KEYFLOW_BLOCK_STORE: 'aws', KEYFLOW_CACHE_MAX_STALE: '24h', KEYFLOW_CACHE_TTL: '10m', ...env}, input: env.INPUT})
    const credentials = await kf(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=xy12345', '--field', 'user=ETL', '--stdin-field', 'password'], {INPUT: password})
    expect(credentials.code, credentials.stderr).to.equal(0)
    const connector = await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'])
    expect(connector.code, connector.stderr).to.equal(0)
  })

  afterEach(() => {
    // Only ciphertext in the cache (and anywhere under the home).
    if (existsSync(h.home)) assertNoCanaryInTree(h.home, h.canaries)
    h.cleanup()
  })

  it('a load of a connector and its credentials: 2 calls cold, 0 when fresh', async () => {
    proxy.reset()
    const cold = await run()
    expect([cold.code, cold.stdout], cold.stderr).to.deep.equal([0, sha256(password)])
    expect(awsCalls(proxy), JSON.stringify(proxy.counts)).to.equal(2)
    proxy.reset()
    const fresh = await run()
    expect([fresh.code, fresh.stdout], fresh.stderr).to.deep.equal([0, sha256(password)])
    expect(proxy.counts, 'no AWS call').to.deep.equal({})
    // Two entries, ciphertext only.
    const cache = join(h.home, 'cache')
    expect(readdirSync(cache).filter((file) => file.endsWith('.entry'))).to.have.length(2)
    assertNoCanaryInTree(cache, h.canaries)
  })

  it('10 concurrent processes with an empty cache read a document with one GetSecretValue between them', async () => {
    expect((await kf(['cache', 'clear'])).code).to.equal(0)
    proxy.reset()
    const inspected = await Promise.all(Array.from({length: 10}, () => kf(['block', 'inspect', 'snowflake-credentials/prod', '--json'])))
    for (const result of inspected) expect(result.code, result.stderr).to.equal(0)
    expect([proxy.counts.GetSecretValue, proxy.counts.BatchGetSecretValue ?? 0], JSON.stringify(proxy.counts)).to.deep.equal([1, 0])
  })

  it('stale, and AWS answers 503: the cached documents, with a warning naming each and its age', async () => {
    expect((await run()).code).to.equal(0)
    await shiftCacheEntries(h.home, -3_600_000)
    proxy.reset([{fault: UNAVAILABLE}])
    const stale = await run({KEYFLOW_AWS_MAX_ATTEMPTS: '1'})
    expect([stale.code, stale.stdout], stale.stderr).to.deep.equal([0, sha256(password)])
    expect(stale.stderr).to.match(/Serving "keyflow\/blocks\/snowflake-connector\/prod" from the cache, 1h\d*m?\d*s? old/)
    expect(stale.stderr).to.match(/Serving "keyflow\/blocks\/snowflake-credentials\/prod" from the cache, 1h/)
    expect(awsCalls(proxy)).to.be.greaterThan(0)
  })

  it('stale, and AWS answers AccessDenied: not served, and the entry is dropped', async () => {
    expect((await run()).code).to.equal(0)
    await shiftCacheEntries(h.home, -3_600_000)
    proxy.reset([{fault: ACCESS_DENIED}])
    const denied = await run({KEYFLOW_CONTENT_TYPE: 'json'})
    expect(denied.code, denied.stderr).to.not.equal(0)
    expect(denied.stdout).to.equal('')
    expect(errorOf(denied).code).to.match(/DENIED/)
    // Dropped: offline now has nothing to serve.
    proxy.reset()
    const offline = await run({KEYFLOW_OFFLINE: '1'})
    expect(offline.code, offline.stderr).to.equal(4)
  })

  it('--offline after one online run: run, inspect and ls, with no AWS call', async () => {
    expect((await run()).code).to.equal(0)
    await shiftCacheEntries(h.home, -3_600_000)
    proxy.reset()
    const offline = await kf(['run', '--offline', '--block', 'snowflake-connector/prod', ...HASH_CHILD])
    expect([offline.code, offline.stdout], offline.stderr).to.deep.equal([0, sha256(password)])
    const inspected = await kf(['block', 'inspect', 'snowflake-connector/prod', '--offline', '--json'])
    expect(inspected.code, inspected.stderr).to.equal(0)
    expect(JSON.parse(inspected.stdout)).to.include({address: 'snowflake-connector/prod', store: 'aws'})
    expect(inspected.stderr).to.include('registered block types are not listed')
    const listed = await kf(['block', 'ls', '--json'], {KEYFLOW_OFFLINE: '1'})
    expect([listed.code, errorOf(listed).code], listed.stderr).to.deep.equal([4, 'OFFLINE_NEEDS_AWS'])
    expect(errorOf(listed).message).to.include('ListSecrets')
    const written = await kf(['block', 'update', 'snowflake-credentials/prod', '--field', 'role=R', '--offline', '--json'])
    expect([written.code, errorOf(written).code], written.stderr).to.deep.equal([4, 'OFFLINE_NEEDS_AWS'])
    expect(errorOf(written).message).to.include('writing snowflake-credentials/prod must ask AWS')
    // The refused write left the cached documents alone.
    const again = await kf(['run', '--offline', '--block', 'snowflake-connector/prod', ...HASH_CHILD])
    expect([again.code, again.stdout], again.stderr).to.deep.equal([0, sha256(password)])
    expect(proxy.counts, 'no AWS call offline').to.deep.equal({})
  })

  it('--offline with an empty cache: a clear error naming each document it could not serve, exit 4, no AWS call', async () => {
    proxy.reset()
    const offline = await run({KEYFLOW_CONTENT_TYPE: 'json', KEYFLOW_OFFLINE: '1'})
    expect(offline.code, offline.stderr).to.equal(4)
    const error = JSON.parse(offline.stderr).error as {code: string; where: string}
    expect(error.code).to.equal('CACHE_OFFLINE_MISS')
    expect(error.where).to.include('keyflow/blocks/snowflake-connector/prod')
    expect(proxy.counts).to.deep.equal({})
    const two = await kf(['run', '--offline', '--block', 'snowflake-connector/prod', '--block', 'snowflake-credentials/prod', ...HASH_CHILD])
    // Every document it could not serve is named.
    expect(two.code, two.stderr).to.equal(4)
    expect(two.stderr).to.match(/block snowflake-connector\/prod .*Offline, and it is not in the cache/)
    expect(two.stderr).to.match(/block snowflake-credentials\/prod .*Offline, and it is not in the cache/)
  })

  it('a write drops the entries it changes: the next read, in another process, sees the new document', async () => {
    expect((await run()).code).to.equal(0)
    const updated = await kf(['block', 'update', 'snowflake-credentials/prod', '--stdin-field', 'password'], {INPUT: rotated})
    expect(updated.code, updated.stderr).to.equal(0)
    const after = await run()
    expect([after.code, after.stdout], after.stderr).to.deep.equal([0, sha256(rotated)])
    // And the new document is what is cached now.
    proxy.reset()
    expect((await run()).stdout).to.equal(sha256(rotated))
    expect(proxy.counts).to.deep.equal({})
    // A deleted document is not served from the cache either.
    expect((await kf(['block', 'delete', 'snowflake-connector/prod', '--yes', '--force-delete-now'])).code).to.equal(0)
    const gone = await run({KEYFLOW_CONTENT_TYPE: 'json'})
    expect([gone.code, errorOf(gone).code], gone.stderr).to.deep.equal([3, 'BLOCK_NOT_FOUND'])
  })

  it('a write with the cache off for that call (--no-cache) still drops the entry another call cached', async () => {
    expect((await run()).code).to.equal(0)
    const updated = await kf(['block', 'update', 'snowflake-credentials/prod', '--stdin-field', 'password', '--no-cache'], {INPUT: rotated})
    expect(updated.code, updated.stderr).to.equal(0)
    const after = await run()
    expect([after.code, after.stdout], after.stderr).to.deep.equal([0, sha256(rotated)])
  })

  it('a write with other credentials (another access key) drops the entry this one cached', async () => {
    expect((await run()).code).to.equal(0)
    const updated = await kf(['block', 'update', 'snowflake-credentials/prod', '--stdin-field', 'password'], {AWS_ACCESS_KEY_ID: 'another-key', INPUT: rotated})
    expect(updated.code, updated.stderr).to.equal(0)
    const after = await run()
    expect([after.code, after.stdout], after.stderr).to.deep.equal([0, sha256(rotated)])
  })

  it('an update from a stale cached revision conflicts, drops the entry, and its retry applies to the current document', async () => {
    expect((await run()).code).to.equal(0)
    // Another machine (no cache here) changes the credentials behind this machine's fresh entry.
    const elsewhere = harness()
    const changed = await elsewhere.kf(['block', 'update', 'snowflake-credentials/prod', '--stdin-field', 'password'], {env: {...proxy.env, KEYFLOW_BLOCK_STORE: 'aws'}, input: rotated})
    elsewhere.cleanup()
    expect(changed.code, changed.stderr).to.equal(0)
    const update = await kf(['block', 'update', 'snowflake-credentials/prod', '--field', 'role=R', '--json'])
    expect(update.code, update.stderr).to.equal(0)
    // Not a lost update: the other machine's password stays, with this machine's change on top (read back from the cache, written by that read).
    expect((await run()).stdout).to.equal(sha256(rotated))
    proxy.reset()
    expect((await run()).stdout).to.equal(sha256(rotated))
    expect(proxy.counts).to.deep.equal({})
    const inspected = JSON.parse((await kf(['block', 'inspect', 'snowflake-credentials/prod', '--json'])).stdout)
    expect(inspected.data).to.include({role: 'R'})
  })

  it('--no-cache asks AWS although the entries are fresh, and leaves them: the next cached run makes no call', async () => {
    expect((await run()).code).to.equal(0)
    proxy.reset()
    const bypass = await run({KEYFLOW_NO_CACHE: '1'})
    expect([bypass.code, bypass.stdout], bypass.stderr).to.deep.equal([0, sha256(password)])
    expect(awsCalls(proxy)).to.equal(2)
    proxy.reset()
    expect((await run()).stdout).to.equal(sha256(password))
    expect(proxy.counts).to.deep.equal({})
  })
})
