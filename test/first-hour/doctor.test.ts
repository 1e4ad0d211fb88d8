import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'
import {Moto, requireMoto, startMoto} from '../support/moto.js'
import {createConnectorBlock, Fixture, passwordConfig, startFixture} from '../support/snowflake-fixture.js'

interface Check {
  area: string
  detail: string
  exit?: number
  status: 'info' | 'ok' | 'problem'
}

function find(checks: Check[], area: string, text: RegExp | string): Check | undefined {
  return checks.find((check) => check.area === area && (typeof text === 'string' ? check.detail.includes(text) : text.test(check.detail)))
}

/** `keyflow doctor` through the built CLI, against moto and the local Snowflake server. */
describe('first hour: keyflow doctor', () => {
  let moto: Moto
  let fixture: Fixture
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const value = canary('doctor')

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    fixture = await startFixture()
    dir = tempDir()
    env = {...baseEnv(dir.path), ...moto.env, SHELL: '/bin/bash'}
  })

  after(async () => {
    await fixture?.server.stop()
    await moto?.stop()
    dir?.cleanup()
  })

  const doctor = async (args: string[] = [], extra: Record<string, string> = {}) => {
    const result = await runCli(['doctor', '--json', ...args], {cwd: dir.path, env: {...env, ...extra}})
    assertNoCanary(result.stdout + result.stderr, [value, ...fixture.canaries], 'doctor output')
    return {code: result.code, report: JSON.parse(result.stdout) as {checks: Check[]; ok: boolean}, stderr: result.stderr}
  }

  it('a healthy set-up: settings with origins, AWS region, credential provider and an authenticated call; exit 0', async () => {
    const {code, report} = await doctor()
    expect(code).to.equal(0)
    expect(report.ok).to.equal(true)
    expect(find(report.checks, 'settings', 'sources = context,env,dotenv,aws  (default)')?.status).to.equal('ok')
    expect(find(report.checks, 'aws', /^region us-east-1; credentials from environment variables/)?.status).to.equal('ok')
    expect(find(report.checks, 'aws', /^authenticated/)?.status).to.equal('ok')
    expect(find(report.checks, 'completion', 'bash: not set up')?.status).to.equal('info')
  })

  it('text for people: one line a check, the verdict last', async () => {
    const result = await runCli(['doctor'], {cwd: dir.path, env})
    expect(result.code).to.equal(0)
    expect(result.stdout).to.match(/^ok {7}aws {9}region us-east-1/m)
    expect(result.stdout.trimEnd().split('\n').at(-1)).to.equal('Nothing is wrong.')
  })

  it('a dotenv file with a bad line (by number, never its text) and one others can read: problems, exit 4', async () => {
    const bad = join(dir.path, 'bad.env')
    writeFileSync(bad, `GOOD=1\nthis line ${value}\n`, {mode: 0o600})
    const open = join(dir.path, 'open.env')
    writeFileSync(open, `OPEN=${value}\n`)
    chmodSync(open, 0o644)
    const {code, report} = await doctor([], {KEYFLOW_ENV_FILES: `${bad}:${open}`})
    expect(code).to.equal(4)
    expect(report.ok).to.equal(false)
    expect(find(report.checks, 'dotenv', `Line 2 of the env file is not NAME=VALUE. (${bad}:2)`)?.status).to.equal('problem')
    expect(find(report.checks, 'dotenv', `${open} can be read by group or others`)).to.include({exit: 8, status: 'problem'})
  })

  it('a block whose reference resolves nowhere: a problem naming the block (exit 3)', async () => {
    const created = await runCli(['block', 'create', 'secret', 'dangling', '--field', 'value=aws-sm://no-such-secret'], {env})
    expect(created.code, created.stderr).to.equal(0)
    const {code, report} = await doctor()
    expect(code).to.equal(3)
    expect(find(report.checks, 'blocks', /^secret\/dangling: /)?.status).to.equal('problem')
    await runCli(['block', 'delete', 'secret/dangling', '--yes'], {env})
  })

  it('--snowflake: logs in to each connector block', async () => {
    mkdirSync(join(dir.path, 'sf'), {recursive: true})
    await createConnectorBlock(dir.path, 'dev', passwordConfig(fixture))
    const without = await doctor()
    expect(find(without.report.checks, 'snowflake', '1 connector block(s); --snowflake logs in to each')?.status).to.equal('info')
    const {code, report} = await doctor(['--snowflake'])
    expect(code, JSON.stringify(report.checks.filter((check) => check.status === 'problem'))).to.equal(0)
    expect(find(report.checks, 'snowflake', 'snowflake-connector/dev: logged in, SELECT 1 answered')?.status).to.equal('ok')
    // The connector's literal password made the master key: private.
    expect(find(report.checks, 'blocks', /^master key .*master\.key, private$/)?.status).to.equal('ok')
  })

  it('an invalid setting: the settings problem alone, exit 2', async () => {
    const {code, report} = await doctor([], {KEYFLOW_SOURCES: 'env,vault'})
    expect(code).to.equal(2)
    expect(report.checks).to.have.length(1)
    expect(report.checks[0]).to.include({area: 'settings', status: 'problem'})
  })
})
