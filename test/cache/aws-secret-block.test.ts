import {expect} from 'chai'
import {beforeEach, describe, it} from 'mocha'
import {execFile} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {shiftCacheEntries} from '../support/cache-age.js'
import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {baseEnv, ROOT} from '../support/cli.js'
import {UNAVAILABLE} from '../support/fault-proxy.js'
import {faultProxyPerFile, motoClientPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

const LIBRARY = pathToFileURL(join(ROOT, 'dist', 'index.js')).href

/** A flow run's body that reads the block's secret and says whether it is `value` (never printing it). */
const reads = (value: string) => `process.stdout.write((await readAwsSecret(block)) === ${JSON.stringify(value)} ? 'same' : 'different')`

/**
 * Prefect's `AwsSecret.read_secret()` (the library's readAwsSecret) reads through the same
 * encrypted cache as the chain (issue 14), keyed by the block's own connection: each call here
 * is a separate Node process, as separate flow runs are, against moto behind the fault proxy,
 * which counts the calls that reach AWS.
 */
/* eslint-disable camelcase -- Prefect's block field names */
describe('aws-secret blocks and the cache (moto)', () => {
  const moto = motoPerFile()
  const proxy = faultProxyPerFile(moto)
  const sm = motoClientPerFile(moto)
  const dir = tempDirPerTest()
  const first = canary('block-first')
  const second = canary('block-second')

  beforeEach(async () => {
    await sm.create('flow/db', first)
  })

  /** Runs `body` (with readAwsSecret, writeAwsSecret and `block` in scope) in a new Node process; returns what it printed. */
  function flowRun(body: string, {block = {secret_name: 'flow/db'}, env = {}}: {block?: object; env?: Record<string, string>} = {}) {
    const script = `
      const {readAwsSecret, writeAwsSecret} = await import(${JSON.stringify(LIBRARY)})
      const block = JSON.parse(process.env.BLOCK)
      ${body}
    `
    return new Promise<{code: number; stderr: string; stdout: string}>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        {env: {...baseEnv(dir.path), ...proxy.env, BLOCK: JSON.stringify(block), KEYFLOW_CACHE_TTL: '10m', ...env}},
        (_error, stdout, stderr) => {
          assertNoCanary(stderr, [first, second], 'stderr')
          resolve({code: child.exitCode ?? -1, stderr, stdout})
        },
      )
    })
  }

  it('a second flow run is served from the cache: one GetSecretValue for two reads', async () => {
    proxy.reset()
    const one = await flowRun(reads(first))
    expect(one.stdout, one.stderr).to.equal('same')
    const two = await flowRun(reads(first))
    expect(two.stdout, two.stderr).to.equal('same')
    expect(proxy.counts.GetSecretValue ?? 0).to.equal(1)
    // Only ciphertext on disk.
    expect(readdirSync(join(dir.path, '.keyflow', 'cache')).some((name) => name.endsWith('.entry'))).to.equal(true)
    assertNoCanaryInTree(join(dir.path, '.keyflow'), [first])
  })

  it('without a TTL nothing is cached, as for the chain', async () => {
    proxy.reset()
    await flowRun(reads(first), {env: {KEYFLOW_CACHE_TTL: ''}})
    await flowRun(reads(first), {env: {KEYFLOW_CACHE_TTL: ''}})
    expect(proxy.counts.GetSecretValue ?? 0).to.equal(2)
  })

  it("a block with other credentials is not served what the ambient ones read: the entry is the block's connection's", async () => {
    proxy.reset()
    await flowRun(reads(first))
    const other = {aws_credentials: {aws_access_key_id: 'AKIAOTHERACCOUNT0001', aws_secret_access_key: 'other-secret-key'}, secret_name: 'flow/db'}
    const result = await flowRun(reads(first), {block: other})
    expect(result.stdout, result.stderr).to.equal('same')
    expect(proxy.counts.GetSecretValue ?? 0).to.equal(2)
    // And that block's own entry serves it next time.
    await flowRun(reads(first), {block: other})
    expect(proxy.counts.GetSecretValue ?? 0).to.equal(2)
  })

  it('a session narrowed by assume_role_kwargs (a Policy, an ExternalId) is not served what the broader one cached', async () => {
    const role = 'arn:aws:iam::123456789012:role/flow-reader'
    const broad = {aws_credentials: {assume_role_arn: role}, secret_name: 'flow/db'}
    expect((await flowRun(reads(first), {block: broad})).stdout).to.equal('same')
    const denyAll = JSON.stringify({Statement: [{Action: '*', Effect: 'Deny', Resource: '*'}], Version: '2012-10-17'})
    for (const kwargs of [{Policy: denyAll}, {ExternalId: 'other-tenant'}]) {
      // eslint-disable-next-line no-await-in-loop
      const narrowed = await flowRun(reads(first), {block: {...broad, aws_credentials: {assume_role_arn: role, assume_role_kwargs: kwargs}}, env: {KEYFLOW_OFFLINE: '1'}})
      expect(narrowed.stdout, JSON.stringify(kwargs)).to.not.equal('same')
      expect(narrowed.code).to.not.equal(0)
    }

    // The broad session's own entry still serves it.
    expect((await flowRun(reads(first), {block: broad, env: {KEYFLOW_OFFLINE: '1'}})).stdout).to.equal('same')
  })

  it('writeAwsSecret drops the cached copy: the next read sees the new value', async () => {
    await flowRun(reads(first))
    const written = await flowRun(`await writeAwsSecret(block, ${JSON.stringify(second)}); ${reads(second)}`)
    expect(written.stdout, written.stderr).to.equal('same')
    const later = await flowRun(reads(second))
    expect(later.stdout, later.stderr).to.equal('same')
  })

  it('serves the cached value offline, and stale during an outage with a warning naming the secret', async () => {
    await flowRun(reads(first))
    proxy.reset()
    const offline = await flowRun(reads(first), {env: {KEYFLOW_OFFLINE: '1'}})
    expect(offline.stdout, offline.stderr).to.equal('same')
    expect(proxy.counts.GetSecretValue ?? 0).to.equal(0)
    // Twenty minutes later the entry is stale, and AWS is down: served within maxStale.
    await shiftCacheEntries(join(dir.path, '.keyflow'), -20 * 60_000)
    proxy.reset([{fault: UNAVAILABLE, operation: 'GetSecretValue'}])
    const stale = await flowRun(reads(first), {env: {KEYFLOW_AWS_MAX_ATTEMPTS: '1', KEYFLOW_CACHE_MAX_STALE: '1h'}})
    expect(stale.stdout, stale.stderr).to.equal('same')
    expect(proxy.counts.GetSecretValue ?? 0).to.equal(1)
    expect(stale.stderr).to.match(/flow\/db/)
    expect(stale.stderr).to.match(/stale|old/i)
  })
})
