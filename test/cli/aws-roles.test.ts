 
import {expect} from 'chai'
import {after, afterEach, before, beforeEach, describe, it} from 'mocha'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, CliResult, ROOT, runCli, tempDir} from '../support/cli.js'
import {startCountingProxy} from '../support/counting-proxy.mjs'
import {startFaultProxy} from '../support/fault-proxy.js'
import {Moto, MOTO_REGION, motoClient, requireMoto, startMoto} from '../support/moto.js'
import {freePort} from '../support/ports.js'

/**
 * AssumeRole before Secrets Manager (issue 13): `--aws-role` for every AWS lookup (Metaflow's
 * default secrets role), and an aws-credentials block's assume_role_arn / assume_role_kwargs
 * (prefect-aws) in readAwsSecret. moto's STS hands out credentials that act in the role's
 * account, so a secret that exists only in account 111122223333 resolves only through the role.
 */
describe('AssumeRole (moto STS)', () => {
  const ROLE = 'arn:aws:iam::111122223333:role/secrets-reader'
  let moto: Moto
  let dir: ReturnType<typeof tempDir>
  let value: string

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
  })

  after(async () => moto?.stop())

  beforeEach(async () => {
    await moto.reset()
    dir = tempDir()
    value = canary('role')
    const {sdk} = await motoClient(moto)
    const {fromTemporaryCredentials} = await import('@aws-sdk/credential-providers')
    const base = {endpoint: moto.url, maxAttempts: 1, region: MOTO_REGION}
    const credentials = fromTemporaryCredentials({
      clientConfig: base,
      masterCredentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
      params: {RoleArn: ROLE, RoleSessionName: 'seed'},
    })
    const inRoleAccount = new sdk.SecretsManagerClient({...base, credentials})
    await inRoleAccount.send(new sdk.CreateSecretCommand({Name: 'team/token', SecretString: value}))
  })

  afterEach(() => dir.cleanup())

  async function keyflow(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const result = await runCli(args, {cwd: dir.path, env: {...baseEnv(dir.path), ...moto.env, ...env}})
    assertNoCanary(result.stderr, [value], 'stderr')
    return result
  }

  it('--aws-role (or KEYFLOW_AWS_ROLE) assumes the role for every lookup; without it the secret is not there', async () => {
    const without = await keyflow(['secret', 'get', 'aws-sm://team/token'])
    expect(without.code).to.equal(3)
    const flagged = await keyflow(['secret', 'get', 'aws-sm://team/token', '--aws-role', ROLE, '--no-newline'])
    expect(flagged.code, flagged.stderr).to.equal(0)
    expect(flagged.stdout === value).to.equal(true)
    const fromEnv = await keyflow(['run', '--secret', 'TOKEN=aws-sm://team/token', '--env-style', 'plain', '--', process.execPath, '-e', 'process.exit(process.env.TOKEN === process.env.EXPECTED ? 0 : 1)'], {
      EXPECTED: value,
      KEYFLOW_AWS_ROLE: ROLE,
    })
    expect(fromEnv.code, fromEnv.stderr).to.equal(0)
  })

  it('assumes a role once per run, whatever the regions of the sources that use it', async () => {
    const {sdk} = await motoClient(moto)
    const {fromTemporaryCredentials} = await import('@aws-sdk/credential-providers')
    const inEurope = {endpoint: moto.url, maxAttempts: 1, region: 'eu-west-1'}
    const credentials = fromTemporaryCredentials({clientConfig: inEurope, masterCredentials: {accessKeyId: 'testing', secretAccessKey: 'testing'}, params: {RoleArn: ROLE, RoleSessionName: 'seed'}})
    await new sdk.SecretsManagerClient({...inEurope, credentials}).send(new sdk.CreateSecretCommand({Name: 'team/far', SecretString: value}))
    const sts = await startCountingProxy(moto.url)
    try {
      const sources = [
        /* eslint-disable camelcase -- Metaflow's option names */
        {id: 'team/token', options: {env_var_name: 'NEAR', json: false}, role: ROLE},
        {id: 'team/far', options: {env_var_name: 'FAR', json: false, region: 'eu-west-1'}, role: ROLE},
        /* eslint-enable camelcase */
      ].flatMap((source) => ['--source', JSON.stringify(source)])
      const check = 'process.exit(process.env.NEAR === process.env.EXPECTED && process.env.FAR === process.env.EXPECTED ? 0 : 1)'
      const result = await keyflow(['run', ...sources, '--', process.execPath, '-e', check], {AWS_ENDPOINT_URL_STS: sts.url, EXPECTED: value})
      expect(result.code, result.stderr).to.equal(0)
      // STS's query protocol has no X-Amz-Target: every request through this proxy is an AssumeRole.
      expect(Object.fromEntries(sts.counts)).to.deep.equal({'POST /': 1})
    } finally {
      await sts.stop()
    }
  })

  it('a role that cannot be assumed (STS unreachable) is a failure (exit 4) naming the role, never "not found"', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const result = await keyflow(['secret', 'get', 'aws-sm://team/token', '--aws-role', ROLE, '--aws-max-attempts', '1'], {AWS_ENDPOINT_URL_STS: closed})
    expect(result.code).to.equal(4)
    expect(result.stderr).to.contain(`AWS role "${ROLE}"`)
    expect(result.stderr).to.contain(`role "${ROLE}" could not be assumed`)
    expect(result.stderr).to.not.contain('not found')
  })

  it('a stalled STS is cut off by --aws-total-timeout: exit 4, AWS_DEADLINE, naming the credentials step', async () => {
    const proxy = await startFaultProxy(moto.url, moto.env)
    try {
      proxy.reset([{fault: {kind: 'stall'}, operation: 'unknown'}])
      const args = ['secret', 'get', 'aws-sm://team/token', '--aws-role', ROLE, '--aws-total-timeout', '1500', '--aws-request-timeout', '4000', '--json']
      const result = await keyflow(args, {AWS_ENDPOINT_URL_STS: proxy.url})
      expect(result.code).to.equal(4)
      const {error} = JSON.parse(result.stderr.slice(result.stderr.indexOf('{')))
      expect(error.code).to.equal('AWS_DEADLINE')
      expect(error.details).to.deep.equal(['credentials: all AWS calls must finish within 1500 ms (--aws-total-timeout)'])
      expect(proxy.counts.unknown).to.equal(1)
    } finally {
      await proxy.stop()
    }
  })

  it("readAwsSecret honours an aws-credentials block's assume_role_arn and assume_role_kwargs", async () => {
    const script = `
      const {readAwsSecret} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)})
      const read = (credentials) => readAwsSecret({aws_credentials: credentials, secret_name: 'team/token'}).then(
        (secret) => (secret === process.env.EXPECTED ? 'value' : 'other'),
        (error) => error.code,
      )
      const role = process.env.ROLE
      process.stdout.write(JSON.stringify([
        await read({}),
        await read({assume_role_arn: role}),
        await read({assume_role_arn: role, assume_role_kwargs: {DurationSeconds: 900, RoleSessionName: 'flow-run'}}),
        await read({assume_role_arn: role, assume_role_kwargs: 'DurationSeconds=900'}),
      ]))
    `
    const child = await new Promise<{stderr: string; stdout: string}>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], {env: {...baseEnv(dir.path), ...moto.env, EXPECTED: value, ROLE}}, (_error, stdout, stderr) => {
        resolve({stderr, stdout})
      })
    })
    assertNoCanary(child.stdout + child.stderr, [value], 'readAwsSecret output')
    expect(JSON.parse(child.stdout || 'null'), child.stderr).to.deep.equal(['SECRET_NOT_FOUND', 'value', 'value', 'INVALID_ASSUME_ROLE_KWARGS'])
  })
})
