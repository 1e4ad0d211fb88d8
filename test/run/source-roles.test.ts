import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, CliResult, runCli, tempDir} from '../support/cli.js'
import {Moto, requireMoto, startMoto} from '../support/moto.js'

/**
 * Metaflow's per-source `role` and `options.region` (issue 13), against moto with IAM enforced
 * (INITIAL_NO_AUTH_ACTION_COUNT): the base user may only call sts:AssumeRole, so a secret is
 * readable only through the `reader` role, whose trust policy names that user. `empty` trusts
 * the user too but may read nothing; `stranger` may call sts:AssumeRole but no role trusts it.
 */
const ACCOUNT = '123456789012'
const READER = `arn:aws:iam::${ACCOUNT}:role/reader`
const EMPTY = `arn:aws:iam::${ACCOUNT}:role/empty`
/** What moto's STS hands out as temporary access key ids. */
const SESSION_KEY = /ASIA[\dA-Z]{16}/

type Keys = {AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string}

/** Every unchecked call moto allows: exactly the ones this script makes. */
const SETUP_CALLS = 11

/** Seeds moto through boto3 (moto's own dependency): secrets, roles, users, keys; values come by env, not argv. */
function seed(url: string, values: Record<string, string>): Record<'base' | 'stranger', Keys> {
  const script = `
import boto3, json, os, sys
kw = dict(endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')
boto3.client('secretsmanager', **kw).create_secret(Name='team/env', SecretString=json.dumps({'TEAM_TOKEN': os.environ['TEAM_VALUE']}))
boto3.client('secretsmanager', **{**kw, 'region_name': 'eu-west-1'}).create_secret(Name='far/env', SecretString=json.dumps({'FAR_TOKEN': os.environ['FAR_VALUE']}))
iam = boto3.client('iam', **kw)
def allow(*actions):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]})
trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::${ACCOUNT}:user/base'}, 'Action': 'sts:AssumeRole'}]})
iam.create_role(RoleName='reader', AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName='reader', PolicyName='read', PolicyDocument=allow('secretsmanager:GetSecretValue', 'secretsmanager:BatchGetSecretValue'))
iam.create_role(RoleName='empty', AssumeRolePolicyDocument=trust)
out = {}
for user in ['base', 'stranger']:
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=user, PolicyDocument=allow('sts:AssumeRole'))
    key = iam.create_access_key(UserName=user)['AccessKey']
    out[user] = {'AWS_ACCESS_KEY_ID': key['AccessKeyId'], 'AWS_SECRET_ACCESS_KEY': key['SecretAccessKey']}
print(json.dumps(out))
`
  const result = spawnSync('python3', ['-c', script, url], {encoding: 'utf8', env: {...process.env, ...values}})
  if (result.status !== 0) throw new Error(`seeding moto failed: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

/** Exits 0 only when the child got exactly these values, and no credentials of keyflow's session. */
const expects = (wanted: Record<string, string>) => [
  '--',
  process.execPath,
  '-e',
  `const wanted = ${JSON.stringify(Object.keys(wanted))}; process.exit(wanted.every((name) => process.env[name] === process.env['EXPECTED_' + name]) && !process.env.AWS_SESSION_TOKEN ? 0 : 9)`,
]
const expected = (wanted: Record<string, string>) => Object.fromEntries(Object.entries(wanted).map(([name, value]) => [`EXPECTED_${name}`, value]))
const source = (declaration: Record<string, unknown>) => ['--source', JSON.stringify(declaration)]

describe('run --source with a role and a region per source (moto STS and IAM enforced)', () => {
  let moto: Moto
  let keys: ReturnType<typeof seed>
  const home = tempDir()
  const team = canary('team')
  const far = canary('far')
  async function keyflow(args: string[], env: Record<string, string> = {}, user: 'base' | 'stranger' = 'base'): Promise<CliResult> {
    const result = await runCli(args, {env: {...baseEnv(home.path), ...moto.env, ...keys[user], ...env}})
    for (const [where, text] of [['stderr', result.stderr], ['stdout', result.stdout]]) {
      assertNoCanary(text, [team, far], where)
      expect(SESSION_KEY.test(text), `${where} holds a session key id`).to.equal(false)
    }

    return result
  }

  before(async function () {
    requireMoto(this)
    moto = await startMoto({env: {INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_CALLS)}})
    keys = seed(moto.url, {FAR_VALUE: far, TEAM_VALUE: team})
  })

  after(async () => {
    home.cleanup()
    await moto?.stop()
  })

  it('the base user alone is not allowed to read (exit 4); with the source\'s role the child gets the value', async () => {
    const without = await keyflow(['run', '--source', 'team/env', '--', 'true'])
    expect(without.code).to.equal(4)
    expect(without.stderr).to.contain('AWS denied access')
    expect(without.stderr).to.not.contain('not found')
    const flagged = await keyflow(['run', ...source({id: 'team/env', role: READER}), ...expects({TEAM_TOKEN: team})], expected({TEAM_TOKEN: team}))
    expect(flagged.code, flagged.stderr).to.equal(0)
    const project = join(home.path, 'keyflow.json')
    writeFileSync(project, JSON.stringify({run: {sources: [{id: 'team/env', role: READER, type: 'aws-secrets-manager'}]}}))
    const fromFile = await keyflow(['run', ...expects({TEAM_TOKEN: team})], {...expected({TEAM_TOKEN: team}), KEYFLOW_PROJECT_FILE: project})
    expect(fromFile.code, fromFile.stderr).to.equal(0)
  })

  it('reads a secret of another region through options.region, next to one of the default region', async () => {
    const missing = await keyflow(['run', ...source({id: 'far/env', role: READER}), '--', 'true'])
    expect(missing.code).to.equal(3)
    expect(missing.stderr).to.contain(`no secret "far/env" in AWS Secrets Manager (us-east-1) as role ${READER}`)
    const both = {FAR_TOKEN: far, TEAM_TOKEN: team}
    const result = await keyflow(['run', ...source({id: 'far/env', options: {region: 'eu-west-1'}, role: READER}), ...source({id: 'team/env', role: READER}), ...expects(both)], expected(both))
    expect(result.code, result.stderr).to.equal(0)
  })

  it("takes the default role from METAFLOW_DEFAULT_SECRETS_ROLE / KEYFLOW_AWS_ROLE; a source's own role wins", async () => {
    const byDefault = await keyflow(['run', '--source', 'team/env', ...expects({TEAM_TOKEN: team})], {...expected({TEAM_TOKEN: team}), METAFLOW_DEFAULT_SECRETS_ROLE: READER})
    expect(byDefault.code, byDefault.stderr).to.equal(0)
    const deniedDefault = await keyflow(['run', '--source', 'team/env', '--', 'true'], {KEYFLOW_AWS_ROLE: EMPTY})
    expect(deniedDefault.code).to.equal(4)
    expect(deniedDefault.stderr).to.contain(`AWS Secrets Manager (us-east-1) as role ${EMPTY}`)
    const ownWins = await keyflow(['run', ...source({id: 'team/env', role: READER}), ...expects({TEAM_TOKEN: team})], {...expected({TEAM_TOKEN: team}), KEYFLOW_AWS_ROLE: EMPTY})
    expect(ownWins.code, ownWins.stderr).to.equal(0)
  })

  it('a refused AssumeRole is exit 4 naming the role and the source, never a miss; a malformed role ARN is a usage error', async () => {
    const refused = await keyflow(['run', ...source({id: 'team/env', role: READER}), '--', 'true'], {}, 'stranger')
    expect(refused.code).to.equal(4)
    expect(refused.stderr).to.contain(`AWS STS refused to let these credentials assume role "${READER}" (AccessDenied)`)
    expect(refused.stderr).to.contain('source "aws-sm://team/env"')
    expect(refused.stderr).to.not.contain('not found')
    const json = await keyflow(['run', '--json', ...source({id: 'team/env', role: READER}), '--', 'true'], {}, 'stranger')
    expect(JSON.parse(json.stderr.slice(json.stderr.indexOf('{'))).error.code).to.equal('AWS_ROLE_REFUSED')
    const malformed = await keyflow(['run', ...source({id: 'team/env', role: 'arn:aws:iam::1234:role/reader'}), '--', 'true'])
    expect(malformed.code).to.equal(2)
    expect(malformed.stderr).to.contain('Expected an IAM role ARN')
    expect(malformed.stderr).to.contain('.role')
    const notAws = await keyflow(['run', ...source({id: 'env://HOME', role: READER}), '--', 'true'])
    expect(notAws.code).to.equal(2)
    expect(notAws.stderr).to.contain('apply only to AWS Secrets Manager sources')
  })

  it('the cache keeps what a role read for that role: read as another role, or none, it is asked again', async () => {
    const cached = {KEYFLOW_CACHE_TTL: '5m', KEYFLOW_HOME: join(home.path, 'cache-home')}
    const asReader = await keyflow(['run', ...source({id: 'team/env', role: READER}), ...expects({TEAM_TOKEN: team})], {...cached, ...expected({TEAM_TOKEN: team})})
    expect(asReader.code, asReader.stderr).to.equal(0)
    for (const env of [{}, {KEYFLOW_AWS_ROLE: EMPTY}] as Array<Record<string, string>>) {
      // eslint-disable-next-line no-await-in-loop
      const other = await keyflow(['run', '--source', 'team/env', '--', 'true'], {...cached, ...env})
      expect(other.code, other.stderr).to.equal(4)
      expect(other.stderr).to.contain('AWS denied access')
    }

    // Offline, only the cache answers: it has the value for the reader role, and nothing for no role.
    const offline = {...cached, KEYFLOW_OFFLINE: 'true'}
    const again = await keyflow(['run', ...source({id: 'team/env', role: READER}), ...expects({TEAM_TOKEN: team})], {...offline, ...expected({TEAM_TOKEN: team})})
    expect(again.code, again.stderr).to.equal(0)
    const noRole = await keyflow(['run', '--source', 'team/env', '--', 'true'], offline)
    expect(noRole.code).to.equal(4)
  })

  it('--explain names the role it read as, never a value or the session credentials', async () => {
    const explained = await keyflow(['secret', 'get', 'aws-sm://team/env#TEAM_TOKEN', '--explain'], {KEYFLOW_AWS_ROLE: READER})
    expect(explained.code, explained.stderr).to.equal(0)
    expect(explained.stdout).to.contain(`as role ${READER}`)
  })
})
