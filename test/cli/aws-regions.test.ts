import {expect} from 'chai'
import {after, afterEach, before, beforeEach, describe, it} from 'mocha'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, CliResult, ROOT, runCli, tempDir} from '../support/cli.js'
import {FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'
import {fixture, parseReport, sha256} from '../support/run-child.js'

/**
 * An ARN names its region, and keyflow asks that region whatever --region says, as Metaflow
 * and the AWS CLI do (issue 13). moto serves every region on one endpoint (the region comes
 * from the SigV4 scope), so secrets are created in several regions and resolved while the
 * configured region is eu-west-1; the fault proxy in front counts calls per region.
 */
describe('ARNs in other regions (moto)', () => {
  const CONFIGURED = 'eu-west-1'
  let moto: Moto
  let proxy: FaultProxy
  let dir: ReturnType<typeof tempDir>
  let canaries: string[]
  let sdk: Awaited<ReturnType<typeof motoClient>>['sdk']

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    proxy = await startFaultProxy(moto.url, {...moto.env, AWS_REGION: CONFIGURED})
    ;({sdk} = await motoClient(moto))
  })

  after(async () => {
    await proxy?.stop()
    await moto?.stop()
  })

  beforeEach(async () => {
    await moto.reset()
    dir = tempDir()
    canaries = []
  })

  afterEach(() => dir.cleanup())

  /** Creates a secret in `region` and returns its ARN. */
  async function create(region: string, name: string, value: string): Promise<string> {
    canaries.push(value)
    const client = new sdk.SecretsManagerClient({
      credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
      endpoint: moto.url,
      maxAttempts: 1,
      region,
    })
    const {ARN} = await client.send(new sdk.CreateSecretCommand({Name: name, SecretString: value}))
    expect(ARN).to.match(new RegExp(`^arn:aws:secretsmanager:${region}:`))
    return ARN!
  }

  async function keyflow(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
    proxy.reset()
    const result = await runCli(args, {cwd: dir.path, env: {...baseEnv(dir.path), ...proxy.env, ...env} as Record<string, string>})
    assertNoCanary(result.stderr, canaries, 'stderr')
    return result
  }

  it('resolves an ARN in us-west-2 while the configured region is eu-west-1, bare or as aws-sm://', async () => {
    const value = canary('west')
    const arn = await create('us-west-2', 'app/west', JSON.stringify({password: value}))
    const bare = await keyflow(['secret', 'get', `${arn}#password`, '--no-newline'])
    expect(bare.code, bare.stderr).to.equal(0)
    expect(bare.stdout === value).to.equal(true)
    expect(proxy.countsByRegion).to.deep.equal({'us-west-2 GetSecretValue': 1})
    const flagged = await keyflow(['secret', 'get', `aws-sm://${arn}#password`, '--region', CONFIGURED, '--no-newline'])
    expect(flagged.stdout === value).to.equal(true)
    expect(proxy.countsByRegion).to.deep.equal({'us-west-2 GetSecretValue': 1})
  })

  it('works with no region configured at all: the ARN is enough', async () => {
    const value = canary('no-region')
    const arn = await create('ap-south-1', 'only-arn', value)
    const result = await keyflow(['secret', 'get', arn, '--sources', 'aws', '--no-newline'], {AWS_DEFAULT_REGION: undefined, AWS_REGION: undefined})
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout === value).to.equal(true)
  })

  it('batches per region: one client and one BatchGetSecretValue per region, all regions resolved together', async () => {
    const names = ['a', 'b', 'c']
    const wanted: Record<string, string> = {}
    const args: string[] = []
    for (const name of names) {
      const value = canary(`home-${name}`)
      // eslint-disable-next-line no-await-in-loop
      await create(CONFIGURED, `HOME_${name.toUpperCase()}`, value)
      wanted[`HOME_${name.toUpperCase()}`] = value
      args.push(`HOME_${name.toUpperCase()}`)
    }

    for (const region of ['us-west-2', 'ap-south-1']) {
      for (const name of names) {
        const value = canary(`${region}-${name}`)
        const key = `${region.replaceAll('-', '_').toUpperCase()}_${name.toUpperCase()}`
        // eslint-disable-next-line no-await-in-loop
        const arn = await create(region, `${region}/${name}`, value)
        wanted[key] = value
        args.push(`${key}=${arn}`)
      }
    }

    const result = await keyflow(['secret', 'get', ...args, '--sources', 'aws', '--format', 'json'])
    expect(result.code, result.stderr).to.equal(0)
    const parsed = JSON.parse(result.stdout) as Record<string, string>
    expect(Object.keys(parsed).sort()).to.deep.equal(Object.keys(wanted).sort())
    expect(Object.entries(wanted).every(([key, value]) => parsed[key] === value)).to.equal(true)
    expect(proxy.countsByRegion).to.deep.equal({
      'ap-south-1 BatchGetSecretValue': 1,
      'eu-west-1 BatchGetSecretValue': 1,
      'us-west-2 BatchGetSecretValue': 1,
    })
  })

  it('an ARN that does not exist is not found in its own region, with no advice to create a secret named after it', async () => {
    const arn = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:missing-AbCdEf'
    const result = await keyflow(['secret', 'get', arn])
    expect(result.code).to.equal(3)
    expect(result.stderr).to.contain(`no secret with ARN "${arn}" in AWS Secrets Manager (us-west-2)`)
    expect(result.stderr).to.contain(`aws secretsmanager describe-secret --secret-id ${arn} --region us-west-2`)
    expect(result.stderr).to.not.contain('create-secret')
  })

  it('run --source with an ARN in another region injects its keys (Metaflow style)', async () => {
    const value = canary('source')
    const arn = await create('us-west-2', 'flow/db', JSON.stringify({DB_PASSWORD: value}))
    const result = await keyflow(['run', '--source', arn, '--env-style', 'plain', '--', process.execPath, fixture('report.mjs'), 'DB_PASSWORD'])
    expect(result.code, result.stderr).to.equal(0)
    expect(parseReport(result.stdout).digests.DB_PASSWORD).to.equal(sha256(value))
    expect(proxy.countsByRegion).to.deep.equal({'us-west-2 GetSecretValue': 1})
  })

  it('readAwsSecret takes the region from an ARN over the block region', async () => {
    const value = canary('block')
    const arn = await create('us-west-2', 'block/secret', value)
    const script = `
      const {readAwsSecret} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)})
      const value = await readAwsSecret({aws_credentials: {region_name: 'eu-west-1'}, secret_name: process.env.ARN})
      process.stdout.write(value === process.env.EXPECTED ? 'same' : 'different')
    `
    proxy.reset()
    // Asynchronously: the proxy answering it runs in this process.
    const child = await new Promise<{stderr: string; stdout: string}>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], {env: {...baseEnv(dir.path), ...proxy.env, ARN: arn, EXPECTED: value}}, (_error, stdout, stderr) => {
        resolve({stderr, stdout})
      })
    })
    expect(child.stdout, child.stderr).to.equal('same')
    expect(proxy.countsByRegion).to.deep.equal({'us-west-2 GetSecretValue': 1})
  })
})
