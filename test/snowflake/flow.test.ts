 
import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {join} from 'node:path'

import {assertNoCanary, assertNoCanaryInTree} from '../support/canary.js'
import {baseEnv, ROOT, runCli, tempDir} from '../support/cli.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'
import {Fixture, startFixture, USER} from '../support/snowflake-fixture.js'

/**
 * examples/snowflake-flow: the seed's flow, run with `keyflow run -- node ...` against moto
 * (the password's AWS secret) and the local Snowflake server, both variants.
 */
describe('examples/snowflake-flow under keyflow run', () => {
  let moto: Moto
  const home = tempDir()
  const flow = ['--loader', 'ts-node/esm', '--disable-warning=ExperimentalWarning', join(ROOT, 'examples', 'snowflake-flow', 'flow.ts')]
  let env: Record<string, string>

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    env = {...baseEnv(home.path), ...moto.env}
    // The seed's aws-credentials block: keys left blank, so the standard chain supplies them.
    const created = await runCli(['block', 'create', 'aws-credentials', 'my-aws-creds', '--field', 'region_name=us-east-1'], {env})
    expect(created.code, created.stderr).to.equal(0)
  })

  after(async () => {
    await moto?.stop()
    home.cleanup()
  })

  async function runFlow(fixture: Fixture, args: string[]) {
    const result = await runCli(['run', '--', process.execPath, ...flow, ...args], {cwd: ROOT, env})
    assertNoCanary(result.stdout, fixture.canaries, 'the flow output')
    assertNoCanary(result.stderr, fixture.canaries, 'the flow stderr')
    assertNoCanaryInTree(home.path, fixture.canaries)
    return result
  }

  for (const variant of ['unsaved', 'saved'] as const) {
    it(`${variant}: creates, inserts with executeMany, pages with fetchMany(2) until empty`, async () => {
      const fixture = await startFixture()
      try {
        const aws = await motoClient(moto)
        await aws.client.send(new aws.sdk.DeleteSecretCommand({ForceDeleteWithoutRecovery: true, SecretId: 'my-snowflake-pw'})).catch(() => {})
        await aws.create('my-snowflake-pw', fixture.password)
        if (variant === 'saved') {
          const credentials = await runCli(
            ['block', 'create', 'snowflake-credentials', 'my-snowflake-creds', '--overwrite', '--field', `account=${fixture.server.account}`, '--field', `user=${USER}`, '--field', 'password=aws-sm://my-snowflake-pw'],
            {env},
          )
          expect(credentials.code, credentials.stderr).to.equal(0)
          const connector = await runCli(
            ['block', 'create', 'snowflake-connector', 'my-snowflake-connector', '--overwrite', '--field', 'credentials=my-snowflake-creds', '--field', 'database=MY_DATABASE', '--field', 'schema=MY_SCHEMA', '--field', 'warehouse=COMPUTE_WH', '--field', `access_url=${fixture.server.url}`],
            {env},
          )
          expect(connector.code, connector.stderr).to.equal(0)
        }

        const result = await runFlow(fixture, variant === 'saved' ? ['saved'] : ['unsaved', fixture.server.account, USER, fixture.server.url])
        expect(result.code, result.stderr).to.equal(0)
        const lines = result.stdout.trim().split('\n')
        expect(lines.at(-1)).to.equal('[[2 rows], [1 row]]')
        expect(lines.slice(0, -1).map((line) => JSON.parse(line))).to.deep.equal([
          [
            ['Ford', 'Highway 42'],
            ['Unknown', 'Space'],
          ],
          [['Me', 'Myway 88']],
        ])
      } finally {
        await fixture.server.stop()
      }
    })
  }
})
