import {expect} from 'chai'
import {after, afterEach, before, beforeEach, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'
import {fixture, sha256} from '../support/run-child.js'

/** Every variable `--withhold aws` removes (docs/run.md "Withholding keyflow's credentials"). */
const CREDENTIAL_VARIABLES = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_DEFAULT_PROFILE',
  'AWS_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SECURITY_TOKEN',
  'AWS_SESSION_TOKEN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
])

interface Probe {
  aws: string[]
  digests: Record<string, null | string>
  sdk: string
}

function withheld(report: Probe): void {
  expect(report.aws.filter((name) => CREDENTIAL_VARIABLES.has(name))).to.deep.equal([])
  expect(report.aws).to.include.members(['AWS_REGION', 'AWS_ENDPOINT_URL', 'AWS_EC2_METADATA_DISABLED'])
  expect(report.sdk).to.equal('CredentialsProviderError')
}

/** moto's environment without its access keys, so keyflow must take credentials from elsewhere. */
function withoutKeys(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'AWS_ACCESS_KEY_ID' && name !== 'AWS_SECRET_ACCESS_KEY'))
}

const SECRET = 'app/db-password'
const VARIABLE = 'PREFECT__CONTEXT__SECRETS__DB_PASSWORD'

describe("run --withhold aws: keyflow's AWS credentials stay out of the child (moto)", () => {
  let moto: Moto
  let client: Awaited<ReturnType<typeof motoClient>>
  let home: {cleanup: () => void; path: string}
  let value: string

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    client = await motoClient(moto)
  })

  after(async () => moto?.stop())

  beforeEach(async () => {
    await moto.reset()
    home = tempDir()
    value = canary('withhold')
    await client.create(SECRET, value)
  })

  afterEach(() => home.cleanup())

  /** keyflow fetches the secret with `env`'s credentials; the child probes what it was given. */
  async function probe(env: Record<string, string>, ...flags: string[]): Promise<Probe> {
    const result = await runCli(['run', ...flags, '--secret', `DB_PASSWORD=${SECRET}`, '--', process.execPath, fixture('aws-probe.mjs'), SECRET, VARIABLE], {env})
    expect(result.code, result.stderr).to.equal(0)
    assertNoCanary(result.stdout + result.stderr, [value], 'keyflow output')
    const report = JSON.parse(result.stdout) as Probe
    expect(report.digests[VARIABLE] === sha256(value), 'the child got its secret').to.equal(true)
    return report
  }

  it('with access keys and a session token in the environment', async () => {
    const env = {...baseEnv(home.path), ...moto.env, AWS_SESSION_TOKEN: `session-${canary('token')}`}
    const inherited = await probe(env)
    expect(inherited.aws).to.include.members(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
    expect(inherited.sdk).to.equal('read the secret')
    withheld(await probe(env, '--withhold', 'aws'))
  })

  it('with a profile in the shared credentials and config files', async () => {
    const rest = withoutKeys(moto.env)
    const env: Record<string, string> = {...baseEnv(home.path), ...rest, AWS_PROFILE: 'keyflow-reader'}
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[keyflow-reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n', {mode: 0o600})
    writeFileSync(env.AWS_CONFIG_FILE, `[profile keyflow-reader]\nregion = ${moto.env.AWS_REGION}\n`, {mode: 0o600})
    const inherited = await probe(env)
    expect(inherited.aws).to.include.members(['AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE'])
    expect(inherited.sdk).to.equal('read the secret')
    withheld(await probe(env, '--withhold', 'aws'))
  })

  it('with a web-identity token file and a role (STS on moto)', async () => {
    const rest = withoutKeys(moto.env)
    const tokenFile = join(home.path, 'web-identity-token')
    writeFileSync(tokenFile, `eyJhbGciOiJub25lIn0.${Buffer.from('{"sub":"keyflow-test"}').toString('base64url')}.`, {mode: 0o600})
    const env = {
      ...baseEnv(home.path),
      ...rest,
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/keyflow-reader',
      AWS_ROLE_SESSION_NAME: 'keyflow-test',
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    }
    const inherited = await probe(env)
    expect(inherited.aws).to.include.members(['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'])
    expect(inherited.sdk).to.equal('read the secret')
    withheld(await probe(env, '--withhold', 'aws'))
  })

  it('with run.withhold in keyflow.json', async () => {
    const file = join(home.path, 'keyflow.json')
    writeFileSync(file, JSON.stringify({run: {withhold: ['aws']}}))
    withheld(await probe({...baseEnv(home.path), ...moto.env, KEYFLOW_PROJECT_FILE: file}))
  })
})
