import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {harness, Harness} from '../support/block-harness.js'
import {ROOT} from '../support/cli.js'
import {Moto, requireMoto, startMoto} from '../support/moto.js'

/**
 * The two IAM policies of docs/blocks.md "IAM policies", read from the document itself and
 * enforced by moto (INITIAL_NO_AUTH_ACTION_COUNT): the first calls, unchecked, create an
 * editor and a reader user with their policy and access key; every later call is checked.
 * moto 5.2.1 checks every non-S3 action against the resource "*" (moto/core/authorization.py),
 * so the policies' ARN-scoped statements are applied with Resource "*": this tests the action
 * lists, not the prefix scoping (only real IAM can).
 */

type Policy = {Statement: Array<{Action: string[]; Resource: string}>; Version: string}

function documentedPolicy(tag: string): Policy {
  const docs = readFileSync(join(ROOT, 'docs', 'blocks.md'), 'utf8')
  const match = new RegExp('```json ' + tag + '\\n([\\s\\S]*?)\\n```').exec(docs)
  if (!match) throw new Error(`docs/blocks.md has no \`\`\`json ${tag} block`)
  const policy = JSON.parse(match[1]) as Policy
  expect(policy.Statement.filter((statement) => statement.Resource !== '*').map((statement) => statement.Resource)).to.deep.equal([
    'arn:aws:secretsmanager:*:*:secret:keyflow/*',
  ])
  return {...policy, Statement: policy.Statement.map((statement) => ({...statement, Resource: '*'}))}
}

/** Creates the users through moto's IAM with boto3 (moto's own dependency): 3 unchecked calls each. */
function createUsers(url: string, policies: Record<string, Policy>): Record<string, {AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string}> {
  const script = `
import boto3, json, sys
iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')
out = {}
for user, policy in json.loads(sys.argv[2]).items():
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=user, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)['AccessKey']
    out[user] = {'AWS_ACCESS_KEY_ID': key['AccessKeyId'], 'AWS_SECRET_ACCESS_KEY': key['SecretAccessKey']}
print(json.dumps(out))
`
  const result = spawnSync('python3', ['-c', script, url, JSON.stringify(policies)], {encoding: 'utf8'})
  if (result.status !== 0) throw new Error(`creating IAM users failed: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

describe('IAM policies of docs/blocks.md, enforced by moto', () => {
  let moto: Moto
  let h: Harness
  let keys: ReturnType<typeof createUsers>
  const as = (user: 'editor' | 'reader', args: string[], extra: Record<string, string> = {}) =>
    h.kf(args, {env: {...moto.env, ...keys[user], KEYFLOW_BLOCK_STORE: 'aws', ...extra}})

  before(async function () {
    requireMoto(this)
    moto = await startMoto({env: {INITIAL_NO_AUTH_ACTION_COUNT: '6'}})
    keys = createUsers(moto.url, {editor: documentedPolicy('keyflow-editor-policy'), reader: documentedPolicy('keyflow-reader-policy')})
    h = harness()
  })

  after(async () => {
    h?.cleanup()
    await moto?.stop()
  })

  it('the editor creates, updates and lists; the reader lists, inspects and runs, and is told clearly it is not allowed to write', async () => {
    for (const args of [
      ['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=a', '--field', 'user=u', '--field', 'password=env://SF_PW'],
      ['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'],
      ['block', 'update', 'snowflake-connector/prod', '--field', 'schema=S2'],
    ]) {
      // eslint-disable-next-line no-await-in-loop
      const result = await as('editor', args)
      expect(result.code, result.stderr).to.equal(0)
    }

    const ls = await as('reader', ['block', 'ls', '--json'])
    expect(ls.code, ls.stderr).to.equal(0)
    expect(JSON.parse(ls.stdout).blocks).to.have.length(2)
    const inspect = await as('reader', ['block', 'inspect', 'snowflake-connector/prod', '--json'])
    expect(inspect.code, inspect.stderr).to.equal(0)
    expect(JSON.parse(inspect.stdout).data.schema).to.equal('S2')
    const run = await as('reader', ['run', '--env-style', 'plain', '--block', 'snowflake-connector/prod', '--', process.execPath, '-e', 'process.stdout.write(process.env.SNOWFLAKE_CONNECTOR__PROD__SCHEMA)'], {SF_PW: 'pw-value-1'})
    expect(run.code, run.stderr).to.equal(0)
    expect(run.stdout).to.equal('S2')

    for (const [args, call] of [
      [['block', 'create', 'secret', 'ci-token', '--field', 'value=env://X', '--json'], 'CreateSecret'],
      [['block', 'update', 'snowflake-connector/prod', '--field', 'schema=S3', '--json'], 'UpdateSecret'],
      [['block', 'delete', 'snowflake-connector/prod', '--yes', '--force', '--json'], 'UpdateSecret'],
    ] as const) {
      // eslint-disable-next-line no-await-in-loop
      const denied = await as('reader', [...args])
      expect(denied.code, denied.stderr).to.equal(4)
      const {error} = JSON.parse(denied.stderr)
      expect(error.code).to.equal('AWS_DENIED')
      expect(error.message).to.equal('AWS denied access.')
      expect(error.fix).to.include(`keyflow needs secretsmanager:${call} on this secret`)
      expect(error.details[0]).to.match(new RegExp(`^${call}: AccessDenied`))
    }

    const unchanged = await as('editor', ['block', 'inspect', 'snowflake-connector/prod', '--json'])
    expect(JSON.parse(unchanged.stdout).data.schema).to.equal('S2')
  })
})
