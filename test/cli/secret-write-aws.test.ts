/* eslint-disable camelcase -- JSON keys as users write them */
import {expect} from 'chai'
import {describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary} from '../support/canary.js'
import {baseEnv, CliResult, runCli} from '../support/cli.js'
import {ACCESS_DENIED, FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {canariesPerTest, motoClientPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

/**
 * secret set / rm / restore / history / ls against AWS Secrets Manager (moto), through the
 * built CLI. moto's implied GetSecretValue (no stage) lags behind UpdateSecretVersionStage,
 * which `#key` updates use; AWS's does not. Reads after a `#key` update therefore name the
 * stage: aws-sm://NAME?stage=AWSCURRENT.
 */
describe('secret set, rm, restore, history, ls against AWS Secrets Manager (moto)', () => {
  const moto = motoPerFile()
  const dir = tempDirPerTest()
  const sm = motoClientPerFile(moto)
  const {canaries, secretValue} = canariesPerTest()

  const env = (extra: Record<string, string> = {}) => ({...baseEnv(dir.path), ...moto.env, KEYFLOW_SECRETS_WRITE_TO: 'aws', ...extra})
  /** Runs keyflow and checks that no canary reached stderr, nor stdout unless `reveal`. */
  async function keyflow(args: string[], options: {env?: Record<string, string>; input?: string | Uint8Array; reveal?: boolean} = {}): Promise<CliResult> {
    const result = await runCli(args, {cwd: dir.path, env: options.env ?? env(), input: options.input})
    assertNoCanary(result.stderr, canaries, 'stderr')
    if (!options.reveal) assertNoCanary(result.stdout, canaries, 'stdout')
    return result
  }

  const get = async (reference: string) => (await keyflow(['secret', 'get', reference, '--no-newline'], {reveal: true})).stdout

  it('creates a secret, then writes new versions; --json names the ARN and version, never the value', async () => {
    const first = secretValue('first')
    const created = await keyflow(['secret', 'set', 'app/token', '--json'], {input: first})
    expect(created.code).to.equal(0)
    const json = JSON.parse(created.stdout)
    expect(json).to.include({name: 'app/token', status: 'created', target: 'aws'})
    expect(json.arn).to.match(/^arn:aws:secretsmanager:.*:secret:app\/token-/)
    expect(json.versionId).to.be.a('string')
    expect(await get('app/token')).to.equal(first)

    const second = secretValue('second')
    const updated = await keyflow(['secret', 'set', 'app/token'], {input: second + '\n'})
    expect(updated.code).to.equal(0)
    expect(updated.stdout).to.match(/^Updated app\/token in AWS Secrets Manager/)
    // One trailing newline is removed, as from `echo`.
    expect(await get('app/token')).to.equal(second)
    expect(await get('aws-sm://app/token?stage=AWSPREVIOUS')).to.equal(first)
  })

  it('stores bytes exactly with --binary, from a file', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 10])
    const path = join(dir.path, 'key.der')
    writeFileSync(path, bytes)
    const result = await keyflow(['secret', 'set', 'tls/key', '--binary', '--from-file', path, '--description', 'TLS key', '--tag', 'team=data'])
    expect(result.code).to.equal(0)
    const read = await keyflow(['secret', 'get', 'tls/key', '--no-newline'], {reveal: true})
    expect(read.stdoutBytes.equals(bytes)).to.equal(true)
    const described = await sm.client.send(new sm.sdk.DescribeSecretCommand({SecretId: 'tls/key'}))
    expect(described.Description).to.equal('TLS key')
    expect(described.Tags).to.deep.equal([{Key: 'team', Value: 'data'}])
  })

  it('applies the configured prefix to a bare name, as the chain does', async () => {
    const value = secretValue('prefixed')
    const result = await keyflow(['secret', 'set', 'db', '--prefix', 'prod/', '--json'], {input: value})
    expect(JSON.parse(result.stdout).name).to.equal('prod/db')
    expect((await keyflow(['secret', 'get', 'db', '--prefix', 'prod/', '--no-newline'], {reveal: true})).stdout).to.equal(value)
  })

  it('sets one key of a JSON secret and keeps the others', async () => {
    const password = secretValue('pw')
    const other = secretValue('other')
    await sm.create('db-credentials', JSON.stringify({api_key: other, port: 5432, user: 'app'}))
    const result = await keyflow(['secret', 'set', 'db-credentials#password', '--json'], {input: password})
    expect(result.code).to.equal(0)
    expect(JSON.parse(result.stdout)).to.include({key: 'password', status: 'updated'})
    await keyflow(['secret', 'set', 'db-credentials#replica.host'], {input: 'r1'})
    const stored = JSON.parse(await get('aws-sm://db-credentials?stage=AWSCURRENT'))
    expect(stored).to.deep.equal({api_key: other, password, port: 5432, replica: {host: 'r1'}, user: 'app'})
    expect(await get('aws-sm://db-credentials?stage=AWSCURRENT#password')).to.equal(password)
  })

  it('loses no key when 20 processes set db#k1..db#k20 at once', async () => {
    const results = await Promise.all(Array.from({length: 20}, async (_, i) => keyflow(['secret', 'set', `db#k${i + 1}`, '--json'], {input: `v${i + 1}`})))
    expect(results.map(({code}) => code)).to.deep.equal(Array.from({length: 20}, () => 0))
    const stored = JSON.parse(await get('aws-sm://db?stage=AWSCURRENT'))
    expect(stored).to.deep.equal(Object.fromEntries(Array.from({length: 20}, (_, i) => [`k${i + 1}`, `v${i + 1}`])))
    // The contention was real: some writers had to retry on top of another's version.
    expect(results.some(({stdout}) => JSON.parse(stdout).attempts > 1)).to.equal(true)
  })

  it('lists versions newest first after three sets', async () => {
    const ids: string[] = []
    for (const label of ['v1', 'v2', 'v3']) {
      // eslint-disable-next-line no-await-in-loop
      const result = await keyflow(['secret', 'set', 'rotating', '--json'], {input: secretValue(label)})
      ids.push(JSON.parse(result.stdout).versionId)
    }

    const history = await keyflow(['secret', 'history', 'rotating', '--json'])
    expect(history.code).to.equal(0)
    const {versions} = JSON.parse(history.stdout) as {versions: Array<{stages: string[]; versionId: string}>}
    expect(versions.map(({versionId}) => versionId)).to.deep.equal([...ids].reverse())
    expect(versions.map(({stages}) => stages)).to.deep.equal([['AWSCURRENT'], ['AWSPREVIOUS'], []])
    const text = await keyflow(['secret', 'history', 'rotating'])
    expect(text.stdout.split('\n')[0]).to.match(/^VERSION ID\s+STAGES\s+CREATED$/)
    expect(text.stdout).to.include(ids[2])
  })

  it('schedules a deletion (7 days by default), restores it, and deletes for good with --force-delete-now', async () => {
    await sm.create('old/token', secretValue('old'))
    const refused = await keyflow(['secret', 'rm', 'old/token'])
    expect(refused.code).to.equal(2)
    const removed = await keyflow(['secret', 'rm', 'old/token', '--yes', '--json'])
    expect(removed.code).to.equal(0)
    const {deletionDate} = JSON.parse(removed.stdout)
    const days = (Date.parse(deletionDate) - Date.now()) / 86_400_000
    expect(days).to.be.within(6.9, 7.1)
    expect((await keyflow(['secret', 'get', 'old/token'])).code).to.equal(4)
    expect((await keyflow(['secret', 'restore', 'old/token'])).code).to.equal(0)
    expect((await keyflow(['secret', 'get', 'old/token'], {reveal: true})).code).to.equal(0)
    expect((await keyflow(['secret', 'rm', 'old/token', '--yes', '--force-delete-now'])).code).to.equal(0)
    expect((await keyflow(['secret', 'get', 'old/token'])).code).to.equal(3)
    expect((await keyflow(['secret', 'restore', 'old/token'])).code).to.equal(3)
  })

  it('lists names per source, marking the one the chain wins with', async () => {
    await sm.create('prod/DB_PASSWORD', secretValue('aws'))
    await sm.create('prod/ONLY_AWS', secretValue('aws2'))
    await sm.create('other/IGNORED', secretValue('aws3'))
    writeFileSync(join(dir.path, '.env'), `# local\nDB_PASSWORD=${secretValue('dotenv')}\n`, {mode: 0o600})
    const result = await keyflow(['secret', 'ls', '--prefix', 'prod/', '--json'], {env: env({DB_PASSWORD: secretValue('env'), PREFECT__CONTEXT__SECRETS__DB_PASSWORD: secretValue('ctx')})})
    expect(result.code).to.equal(0)
    const {secrets, sources} = JSON.parse(result.stdout) as {secrets: Array<{name: string; shadowedBy?: string; source: string; where: string; wins: boolean}>; sources: Array<{calls?: number; source: string}>}
    const db = secrets.filter(({name}) => name === 'DB_PASSWORD')
    expect(db.map(({source, wins}) => [source, wins])).to.deep.equal([['context', true], ['env', false], ['dotenv', false], ['aws', false]])
    expect(db[2].where).to.equal(`${join(dir.path, '.env')}:2`)
    expect(db[3].shadowedBy).to.equal('context $PREFECT__CONTEXT__SECRETS__DB_PASSWORD')
    expect(secrets.find(({name}) => name === 'ONLY_AWS')).to.include({source: 'aws', wins: true})
    expect(secrets.some(({name}) => name.includes('IGNORED'))).to.equal(false)
    expect(sources.find(({source}) => source === 'aws')?.calls).to.equal(1)
    const text = await keyflow(['secret', 'ls', '--prefix', 'prod/', '--sources', 'dotenv,aws'])
    expect(text.stdout).to.match(/DB_PASSWORD\s+dotenv\s+\S+\.env:2.*wins/)
    expect(text.stdout).to.match(/DB_PASSWORD\s+aws\s+arn:.*shadowed by dotenv/)
  })

  describe('bad input', () => {
    it('refuses a value on the command line without echoing it', async () => {
      const value = secretValue('argv')
      for (const args of [['secret', 'set', 'db', value], ['secret', 'set', `DB_PASSWORD=${value}`]]) {
        // eslint-disable-next-line no-await-in-loop
        const result = await runCli(args, {cwd: dir.path, env: env()})
        expect(result.code).to.equal(2)
        assertNoCanary(result.stdout + result.stderr, [value], 'output')
        expect(result.stderr).to.include('--from-file')
      }

      expect((await sm.client.send(new sm.sdk.ListSecretsCommand({}))).SecretList).to.deep.equal([])
    })

    it('refuses an unknown target, an empty value, a key of a non-JSON or binary secret, a version pin', async () => {
      expect((await keyflow(['secret', 'set', 'x', '--to', 's3'], {input: 'v'})).code).to.equal(2)
      expect((await keyflow(['secret', 'set', 'x'], {input: ''})).code).to.equal(5)
      expect((await keyflow(['secret', 'set', 'x'], {input: '\n'})).code).to.equal(5)
      expect((await keyflow(['secret', 'set', 'x', '--allow-empty'], {input: ''})).code).to.equal(5)
      expect((await keyflow(['secret', 'set', 'x', '--allow-empty', '--to', 'dotenv'], {input: ''})).code).to.equal(0)
      await sm.create('plain', secretValue('plain'))
      await sm.create('bytes', Buffer.from([1, 2, 3]))
      const notJson = await keyflow(['secret', 'set', 'plain#key'], {input: 'v'})
      expect(notJson.code).to.equal(5)
      expect(notJson.stderr).to.include('is not JSON')
      expect((await keyflow(['secret', 'set', 'bytes#key'], {input: 'v'})).code).to.equal(5)
      expect((await keyflow(['secret', 'set', 'aws-sm://plain?stage=AWSPREVIOUS'], {input: 'v'})).code).to.equal(2)
      expect((await keyflow(['secret', 'set', 'env://X'], {input: 'v'})).code).to.equal(2)
      expect((await keyflow(['secret', 'set', 'aws-sm://plain', '--to', 'dotenv'], {input: 'v'})).code).to.equal(2)
      expect(await get('plain')).to.equal(canaries[0])
    })

    it('reports AccessDenied on PutSecretValue as a source failure naming the permission', async () => {
      await sm.create('locked', secretValue('locked'))
      const proxy: FaultProxy = await startFaultProxy(moto.url, moto.env)
      try {
        proxy.reset([{fault: ACCESS_DENIED, operation: 'PutSecretValue'}])
        const result = await keyflow(['secret', 'set', 'locked'], {env: env(proxy.env), input: secretValue('new')})
        expect(result.code).to.equal(4)
        expect(result.stderr).to.include('AWS denied access')
        expect(result.stderr).to.include('secretsmanager:PutSecretValue')
      } finally {
        await proxy.stop()
      }

      expect(await get('locked')).to.equal(canaries[0])
    })

    it('fails when AWS is not configured, instead of writing elsewhere', async () => {
      const result = await keyflow(['secret', 'set', 'x'], {env: {...baseEnv(dir.path), KEYFLOW_SECRETS_WRITE_TO: 'aws'}, input: 'v'})
      expect(result.code).to.equal(4)
      expect(result.stderr).to.include('no AWS region')
    })
  })
})
