import {expect} from 'chai'
import {describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary} from '../support/canary.js'
import {baseEnv, CliResult, runCli} from '../support/cli.js'
import {canariesPerTest, motoClientPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

describe('secret get against AWS Secrets Manager (moto)', () => {
  const moto = motoPerFile()
  const dir = tempDirPerTest()
  const sm = motoClientPerFile(moto)
  const {canaries, secretValue} = canariesPerTest()

  const env = (extra: Record<string, string> = {}) => ({...baseEnv(dir.path), ...moto.env, ...extra})
  /** Runs keyflow and checks that no canary reached stderr. */
  async function keyflow(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
    const result = await runCli(args, {cwd: dir.path, env: env(extra)})
    assertNoCanary(result.stderr, canaries, 'stderr')
    return result
  }

  it('prints a string secret with a newline, or without one', async () => {
    const value = secretValue('string')
    await sm.create('app/token', value)
    const result = await keyflow(['secret', 'get', 'app/token'])
    expect(result.code).to.equal(0)
    expect(result.stdout === value + '\n').to.equal(true)
    const bare = await keyflow(['secret', 'get', 'app/token', '--no-newline'])
    expect(bare.stdout === value).to.equal(true)
  })

  it('reads keys of a JSON secret, nested and by JSON Pointer', async () => {
    const password = secretValue('pw')
    await sm.create('db-credentials', JSON.stringify({hosts: ['h1', 'h2'], 'odd.key': 'dots', password, user: {name: 'app'}}))
    const results = await Promise.all(
      ['db-credentials#password', 'db-credentials#user.name', 'db-credentials#/hosts/1', 'db-credentials#/odd.key'].map((ref) =>
        keyflow(['secret', 'get', ref, '--no-newline']),
      ),
    )
    expect(results.map((result) => result.code)).to.deep.equal([0, 0, 0, 0])
    expect(results[0].stdout === password).to.equal(true)
    expect(results.slice(1).map((result) => result.stdout)).to.deep.equal(['app', 'h2', 'dots'])
  })

  it('a missing key or a non-JSON secret is a bad value (exit 5) that never shows the value', async () => {
    const value = secretValue('notjson')
    await sm.create('plain', value)
    await sm.create('json', JSON.stringify({other: value}))
    const notJson = await keyflow(['secret', 'get', 'plain#key'])
    expect(notJson.code).to.equal(5)
    expect(notJson.stderr).to.contain('is not JSON')
    const missingKey = await keyflow(['secret', 'get', 'json#key', '--json'])
    expect(missingKey.code).to.equal(5)
    expect(JSON.parse(missingKey.stderr).error.code).to.equal('SECRET_KEY_NOT_FOUND')
    expect(missingKey.stdout).to.equal('')
  })

  it('writes a binary secret raw, or base64 with --base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 10, 13, 0x80])
    await sm.create('blob', bytes)
    const raw = await keyflow(['secret', 'get', 'blob'])
    expect(raw.code).to.equal(0)
    expect(raw.stdoutBytes.equals(bytes)).to.equal(true)
    const encoded = await keyflow(['secret', 'get', 'blob', '--base64'])
    expect(encoded.stdout).to.equal(bytes.toString('base64') + '\n')
    const json = await keyflow(['secret', 'get', 'blob', '--json'])
    expect(JSON.parse(json.stdout).secrets[0]).to.deep.include({encoding: 'base64', value: bytes.toString('base64')})
    const env = await keyflow(['secret', 'get', 'B=blob', 'aws-sm://blob', '--format', 'env'])
    expect(env.code).to.equal(5)
    expect(env.stderr).to.contain('--base64')
  })

  it('reads AWSPREVIOUS after PutSecretValue, and a version by VersionId', async () => {
    const first = secretValue('v1')
    const second = secretValue('v2')
    const created = await sm.create('rotating', first)
    await sm.put('rotating', second)
    const current = await keyflow(['secret', 'get', 'rotating', '--no-newline'])
    const previous = await keyflow(['secret', 'get', 'aws-sm://rotating?stage=AWSPREVIOUS', '--no-newline'])
    const byId = await keyflow(['secret', 'get', `aws-sm://rotating?version-id=${created.VersionId}`, '--no-newline'])
    expect([current.code, previous.code, byId.code]).to.deep.equal([0, 0, 0])
    expect(current.stdout === second).to.equal(true)
    expect(previous.stdout === first).to.equal(true)
    expect(byId.stdout === first).to.equal(true)
    const json = await keyflow(['secret', 'get', 'aws-sm://rotating?stage=AWSPREVIOUS', '--json'])
    expect(JSON.parse(json.stdout).secrets[0].provenance).to.deep.include({versionId: created.VersionId, versionStages: ['AWSPREVIOUS']})
  })

  it('an unknown stage is not found (exit 3), saying it is the stage that is missing', async () => {
    await sm.create('staged', secretValue('staged'))
    const result = await keyflow(['secret', 'get', 'aws-sm://staged?stage=NOPE'])
    expect(result.code).to.equal(3)
    expect(result.stderr).to.contain('no stage NOPE of secret "staged" in AWS Secrets Manager (us-east-1)')
    expect(result.stderr).to.contain('aws secretsmanager describe-secret --secret-id staged')
  })

  it('not found anywhere: exit 3, every source listed with how to set the secret there', async () => {
    const result = await keyflow(['secret', 'get', 'no/such-secret'])
    expect(result.code).to.equal(3)
    expect(result.stdout).to.equal('')
    expect(result.stderr).to.contain('Secret "no/such-secret" was not found in any source.')
    expect(result.stderr).to.contain('sources tried: context, env, dotenv, aws')
    for (const line of [
      /context +PREFECT__CONTEXT__SECRETS__no\/such-secret is not set/,
      /env +\$no\/such-secret is not set/,
      /dotenv +not in /,
      /aws +no secret "no\/such-secret" in AWS Secrets Manager \(us-east-1\)/,
    ]) {
      expect(result.stderr).to.match(line)
    }

    expect(result.stderr).to.contain('aws secretsmanager create-secret --name no/such-secret')
  })

  it('uses a profile from a shared credentials file, with --profile or AWS_PROFILE', async () => {
    const value = secretValue('profile')
    await sm.create('via-profile', value)
    writeFileSync(join(dir.path, 'aws-credentials'), '[kf-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n')
    const noCredentials = {AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: ''}
    const without = await keyflow(['secret', 'get', 'via-profile', '--explain'], noCredentials)
    expect(without.code).to.equal(3)
    expect(without.stdout).to.contain('skipped: no AWS credentials were found')
    const withFlag = await keyflow(['secret', 'get', 'via-profile', '--profile', 'kf-test', '--no-newline'], noCredentials)
    expect(withFlag.code).to.equal(0)
    expect(withFlag.stdout === value).to.equal(true)
    const withEnv = await keyflow(['secret', 'get', 'via-profile', '--no-newline'], {...noCredentials, AWS_PROFILE: 'kf-test'})
    expect(withEnv.stdout === value).to.equal(true)
    const unknownProfile = await keyflow(['secret', 'get', 'via-profile', '--profile', 'nope'], noCredentials)
    expect(unknownProfile.code).to.equal(4)
    expect(unknownProfile.stderr).to.match(/^Error: AWS credentials could not be loaded\.\n {2}where: AWS profile "nope"/)
  })

  it('prefixes names looked up through the chain, not direct references', async () => {
    const value = secretValue('prefixed')
    await sm.create('prod/api-key', value)
    const prefixed = await keyflow(['secret', 'get', 'api-key', '--prefix', 'prod/', '--no-newline'])
    expect(prefixed.code).to.equal(0)
    expect(prefixed.stdout === value).to.equal(true)
    const fromEnv = await keyflow(['secret', 'get', 'api-key', '--no-newline'], {KEYFLOW_AWS_PREFIX: 'prod/'})
    expect(fromEnv.stdout === value).to.equal(true)
    const direct = await keyflow(['secret', 'get', 'aws-sm://api-key', '--prefix', 'prod/'])
    expect(direct.code).to.equal(3)
  })

  it('writes several secrets as env, json and shell', async () => {
    const token = secretValue('token')
    const tricky = `${secretValue('tricky')} it's "quoted" $HOME\nline2`
    canaries.push(tricky)
    await sm.create('token', token)
    await sm.create('tricky', tricky)
    await sm.create('conf', JSON.stringify({port: 5432}))
    const refs = ['TOKEN=token', 'TRICKY=tricky', 'conf#port']
    const json = await keyflow(['secret', 'get', ...refs, '--format', 'json'])
    expect(json.code).to.equal(0)
    const parsed = JSON.parse(json.stdout)
    expect(Object.keys(parsed)).to.deep.equal(['TOKEN', 'TRICKY', 'port'])
    expect(parsed.TOKEN === token && parsed.TRICKY === tricky && parsed.port === '5432').to.equal(true)

    const shell = await keyflow(['secret', 'get', ...refs, '--format', 'shell'])
    const {execFileSync} = await import('node:child_process')
    const back = execFileSync('sh', ['-c', `${shell.stdout}\nprintf '%s\\0%s\\0%s' "$TOKEN" "$TRICKY" "$port"`], {encoding: 'utf8'})
    expect(back === [token, tricky, '5432'].join('\0')).to.equal(true)

    const dotenvText = await keyflow(['secret', 'get', ...refs, '--format', 'env'])
    const {parse} = await import('dotenv')
    const fromDotenv = parse(dotenvText.stdout)
    expect(fromDotenv.TOKEN === token && fromDotenv.TRICKY === tricky && fromDotenv.port === '5432').to.equal(true)
  })

  it('--json: name, value, source and provenance with ARN, version and stages', async () => {
    const value = secretValue('json')
    const created = await sm.create('doc', value)
    const result = await keyflow(['secret', 'get', 'doc', '--json'])
    expect(result.code).to.equal(0)
    const document = JSON.parse(result.stdout)
    expect(Object.keys(document)).to.deep.equal(['secrets'])
    const [entry] = document.secrets
    expect(entry.value === value).to.equal(true)
    expect({...entry, value: undefined}).to.deep.equal({
      encoding: 'utf8',
      found: true,
      key: 'doc',
      provenance: {arn: created.ARN, name: 'doc', source: 'aws', versionId: created.VersionId, versionStages: ['AWSCURRENT']},
      reference: 'doc',
      source: 'aws',
      value: undefined,
    })
  })

  it('--explain: the chain walked with provenance, never the value', async () => {
    const value = secretValue('explain')
    const created = await sm.create('explained', JSON.stringify({key: value}))
    const result = await keyflow(['secret', 'get', 'explained#key', '--explain'])
    expect(result.code).to.equal(0)
    assertNoCanary(result.stdout, canaries, '--explain')
    expect(result.stdout).to.match(/1\. context +miss/)
    expect(result.stdout).to.match(/3\. dotenv +miss/)
    expect(result.stdout).to.contain(`4. aws      hit       found ${created.ARN} version ${created.VersionId}`)
    expect(result.stdout).to.contain(`=> aws ${created.ARN} version ${created.VersionId} (AWSCURRENT)`)
    const json = await keyflow(['secret', 'get', 'explained#key', '--explain', '--json'])
    assertNoCanary(json.stdout, canaries, '--explain --json')
    expect(JSON.parse(json.stdout).secrets[0].trace).to.have.length(4)
  })

  it('a source earlier in the chain wins over AWS, and --sources aws reaches AWS first', async () => {
    const inAws = secretValue('aws')
    const inEnv = secretValue('env')
    await sm.create('SHARED', inAws)
    const chain = await keyflow(['secret', 'get', 'SHARED', '--no-newline'], {SHARED: inEnv})
    expect(chain.stdout === inEnv).to.equal(true)
    const awsFirst = await keyflow(['secret', 'get', 'SHARED', '--no-newline', '--sources', 'aws,env'], {SHARED: inEnv})
    expect(awsFirst.stdout === inAws).to.equal(true)
  })

  it('a 64 KiB secret, the AWS maximum, comes back whole', async () => {
    const big = (secretValue('big') + 'x'.repeat(65_536)).slice(0, 65_536)
    canaries.push(big.slice(0, 40))
    await sm.create('big', big)
    const result = await keyflow(['secret', 'get', 'big', '--no-newline'])
    expect(result.code).to.equal(0)
    expect(result.stdout.length).to.equal(65_536)
    expect(result.stdout === big).to.equal(true)
  })
})
