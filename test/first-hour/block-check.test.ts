import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'

/**
 * `keyflow block check`: the README's Snowflake mistake (a plain-string secret read as JSON
 * with #KEY) found when the block is checked, not when a flow runs; no value ever printed.
 */
describe('first hour: block check', () => {
  let moto: Moto
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const password = canary('sfpw')
  const kf = (args: string[]) => runCli(args, {cwd: dir.path, env})

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    await (await motoClient(moto)).create('my-snowflake-pw', password)
    dir = tempDir()
    env = {...baseEnv(dir.path), ...moto.env}
    for (const args of [
      ['snowflake-credentials', 'good', '--field', 'account=a', '--field', 'user=u', '--field', 'password=aws-sm://my-snowflake-pw'],
      ['snowflake-credentials', 'as-json', '--field', 'account=a', '--field', 'user=u', '--field', 'password=aws-sm://my-snowflake-pw#my-snowflake-pw'],
      ['snowflake-connector', 'prod', '--field', 'credentials=good', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'],
    ]) {
      // eslint-disable-next-line no-await-in-loop
      expect((await kf(['block', 'create', ...args])).code).to.equal(0)
    }
  })

  after(async () => {
    await moto?.stop()
    dir?.cleanup()
  })

  it('a reference that resolves: ok, with what was resolved, exit 0', async () => {
    const result = await kf(['block', 'check', 'snowflake-connector/prod', 'snowflake-credentials/good'])
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout).to.equal('ok    snowflake-connector/prod: loads; 0 references, 1 nested block resolved\nok    snowflake-credentials/good: loads; 1 reference, 0 nested blocks resolved\n')
    assertNoCanary(result.stdout + result.stderr, [password], 'output')
  })

  it('a key of a secret that is not JSON: the error run would give (exit 5), now, without the value', async () => {
    const result = await kf(['block', 'check'])
    expect(result.code).to.equal(5)
    expect(result.stdout).to.match(/^FAIL {2}snowflake-credentials\/as-json: /m)
    expect(result.stdout).to.match(/^ok {4}snowflake-credentials\/good/m)
    assertNoCanary(result.stdout + result.stderr, [password], 'output')
    const json = await kf(['block', 'check', '--json'])
    expect(json.code).to.equal(5)
    const report = JSON.parse(json.stdout)
    expect(report.ok).to.equal(false)
    expect(report.checks.find((check: {address: string}) => check.address === 'snowflake-credentials/as-json').error.exit).to.equal(5)
    assertNoCanary(json.stdout + json.stderr, [password], 'JSON output')
  })

  it('a document that does not exist: not found (exit 3)', async () => {
    const result = await kf(['block', 'check', 'secret/nope'])
    expect(result.code).to.equal(3)
    expect(result.stdout).to.match(/^FAIL {2}secret\/nope: Unable to find block document/)
  })
})
