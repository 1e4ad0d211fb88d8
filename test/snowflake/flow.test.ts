 
import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn} from 'node:child_process'

import {assertNoCanary, assertNoCanaryInTree} from '../support/canary.js'
import {baseEnv, CliResult, ROOT, runCli, tempDir} from '../support/cli.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'
import {Fixture, startFixture, USER} from '../support/snowflake-fixture.js'

/** The flow as the README runs it, from the clone: `node --import ./examples/ts-node.mjs examples/snowflake-flow/flow.ts ...`. */
async function runFlowAsReadme(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './examples/ts-node.mjs', 'examples/snowflake-flow/flow.ts', ...args], {cwd: ROOT, env})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out)
      resolve({code, signal, stderr: Buffer.concat(err).toString('utf8'), stdout: stdoutBytes.toString('utf8'), stdoutBytes})
    })
  })
}

/**
 * examples/snowflake-flow: the seed's flow, run as the README writes it against moto (the
 * password's AWS secret, a plain string) and the local Snowflake server, both variants.
 */
describe('examples/snowflake-flow as the README runs it', () => {
  let moto: Moto
  const home = tempDir()
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
    const result = await runFlowAsReadme(args, env)
    expect(result.stderr, 'no warnings').to.equal('')
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

  describe('a missing block', () => {
    const missingHome = tempDir()

    after(() => missingHome.cleanup())

    it("ends with keyflow's error and exit code, no stack trace, no Node warning", async () => {
      const result = await runFlowAsReadme(['unsaved', 'ACCOUNT', 'USER'], baseEnv(missingHome.path))
      expect(result.code).to.equal(3)
      expect(result.stderr).to.match(/^Error: Unable to find block document named my-aws-creds for block type aws-credentials\n/)
      expect(result.stderr).to.include('fix:')
      expect(result.stderr).not.to.match(/^\s+at /m)
      expect(result.stderr).not.to.include('Warning')
    })
  })
})
