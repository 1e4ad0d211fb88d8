import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'
import {fixture, parseReport, sha256} from '../support/run-child.js'

const report = (...names: string[]) => ['--', process.execPath, fixture('report.mjs'), ...names]

/** What the AWS SDKs take credentials, or the way to them, from: each set as keyflow's own would be. */
const AWS_CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
]

describe("run: the child's environment", () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string
  let token: string

  beforeEach(() => {
    home = tempDir()
    token = canary('child-env')
    env = {...baseEnv(home.path), ...Object.fromEntries(AWS_CREDENTIAL_VARIABLES.map((name) => [name, `${name.toLowerCase()}-${token}`])), AWS_REGION: 'eu-west-1'}
    envFile = join(home.path, 'secrets.env')
    const source = JSON.stringify({APP_MODE: 'batch', LD_PRELOAD: '/tmp/not-there.so', NODE_OPTIONS: '--require /tmp/not-there.js', PYTHONPATH: '/tmp/not-there'})
    writeFileSync(envFile, `TOKEN=${token}\nAPP_ENV='${source}'\nCHILD_KEY=child-${token}\n`, {mode: 0o600})
  })

  afterEach(() => home.cleanup())

  it("keeps keyflow's AWS credentials from the child with --withhold aws, and makes its SDK find none", async () => {
    const shown = await runCli(['run', '--env-file', envFile, '--secret', 'TOKEN', ...report(...AWS_CREDENTIAL_VARIABLES)], {env})
    expect(parseReport(shown.stdout).names).to.include.members(AWS_CREDENTIAL_VARIABLES)

    const result = await runCli(['run', '--withhold', 'aws', '--env-file', envFile, '--secret', 'TOKEN', ...report('AWS_EC2_METADATA_DISABLED', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE')], {env})
    expect(result.code).to.equal(0)
    const {digests, names} = parseReport(result.stdout)
    expect(names.filter((name) => AWS_CREDENTIAL_VARIABLES.includes(name))).to.deep.equal([])
    expect(names).to.include.members(['AWS_REGION', 'PREFECT__CONTEXT__SECRETS__TOKEN'])
    expect(digests).to.deep.equal({AWS_CONFIG_FILE: sha256('/dev/null'), AWS_EC2_METADATA_DISABLED: sha256('true'), AWS_SHARED_CREDENTIALS_FILE: sha256('/dev/null')})
    assertNoCanary(result.stdout + result.stderr, [token], 'output')
  })

  it('withholds with run.withhold in keyflow.json too, and still injects AWS variables the run asks for', async () => {
    const file = join(home.path, 'keyflow.json')
    writeFileSync(file, JSON.stringify({run: {withhold: ['aws']}}))
    const result = await runCli(['run', '--env-file', envFile, '--env-style', 'plain', '--secret', 'AWS_ACCESS_KEY_ID=dotenv://CHILD_KEY', ...report('AWS_ACCESS_KEY_ID')], {
      env: {...env, KEYFLOW_PROJECT_FILE: file},
    })
    expect(result.code).to.equal(0)
    const {digests, names} = parseReport(result.stdout)
    expect(digests.AWS_ACCESS_KEY_ID === sha256(`child-${token}`)).to.equal(true)
    expect(names.filter((name) => AWS_CREDENTIAL_VARIABLES.includes(name))).to.deep.equal(['AWS_ACCESS_KEY_ID'])
  })

  it('refuses an unknown --withhold or run.withhold (exit 2)', async () => {
    expect((await runCli(['run', '--withhold', 'gcp', '--', 'true'], {env})).code).to.equal(2)
    const file = join(home.path, 'keyflow.json')
    writeFileSync(file, JSON.stringify({run: {withhold: ['gcp']}}))
    const result = await runCli(['run', '--', 'true'], {env: {...env, KEYFLOW_PROJECT_FILE: file}})
    expect(result.code).to.equal(2)
    expect(result.stderr).to.include('run.withhold[0]')
  })

  for (const name of ['LD_PRELOAD', 'NODE_OPTIONS', 'PYTHONPATH']) {
    it(`refuses a --source key that sets ${name} unless the run allows it by name (exit 5)`, async () => {
      const args = ['run', '--env-file', envFile, '--env-style', 'plain', '--source', 'dotenv://APP_ENV']
      const others = ['LD_PRELOAD', 'NODE_OPTIONS', 'PYTHONPATH'].filter((other) => other !== name).flatMap((other) => ['--allow-source-key', other])
      const refused = await runCli([...args, ...others, '--', 'sh', '-c', 'echo ran'], {env})
      expect(refused.code).to.equal(5)
      expect(refused.stdout).to.equal('')
      expect(refused.stderr).to.include(name)
      expect(refused.stderr).to.include('--allow-source-key')
    })
  }

  it('lets allowed loader variables through (--allow-source-key, run.allowSourceKeys), and harmless styled names always', async () => {
    const args = ['run', '--env-file', envFile, '--source', 'dotenv://APP_ENV']
    const check = ['--', 'sh', '-c', 'test "$PYTHONPATH" = /tmp/not-there && test "$NODE_OPTIONS" = "--require /tmp/not-there.js"']
    const allowed = await runCli([...args, '--env-style', 'plain', '--allow-source-key', 'LD_PRELOAD', '--allow-source-key', 'NODE_OPTIONS', '--allow-source-key', 'PYTHONPATH', ...check], {env})
    expect(allowed.code).to.equal(0)

    const file = join(home.path, 'keyflow.json')
    writeFileSync(file, JSON.stringify({run: {allowSourceKeys: ['LD_PRELOAD', 'NODE_OPTIONS', 'PYTHONPATH']}}))
    expect((await runCli([...args, '--env-style', 'plain', ...check], {env: {...env, KEYFLOW_PROJECT_FILE: file}})).code).to.equal(0)

    // PREFECT__CONTEXT__SECRETS__NODE_OPTIONS loads nothing (sources are plain by default, so asked for).
    const prefect = await runCli([...args, '--env-style', 'prefect', ...report('PREFECT__CONTEXT__SECRETS__NODE_OPTIONS')], {env})
    expect(prefect.code).to.equal(0)
    expect(parseReport(prefect.stdout).digests.PREFECT__CONTEXT__SECRETS__NODE_OPTIONS).to.equal(sha256('--require /tmp/not-there.js'))
  })
})
