import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {baseEnv, ROOT, runCli, tempDir} from '../support/cli.js'
import {fixture, parseReport, sha256} from '../support/run-child.js'

/**
 * `keyflow run --block TYPE/NAME`: every field of a stored block reaches the child as
 * TYPE__NAME__FIELD (under PREFECT__CONTEXT__SECRETS__ by default), secret fields masked in
 * piped output, plain fields left readable.
 */
describe('run --block', () => {
  const home = tempDir()
  const env = {...baseEnv(home.path), KEYFLOW_ENV_FILES: join(home.path, 'none.env')}
  const password = canary('sfpw')
  const user = 'etl_loader_user'
  const prefix = 'PREFECT__CONTEXT__SECRETS__SNOWFLAKE_CREDENTIALS__PROD__'

  before(async () => {
    const created = await runCli(
      ['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=xy12345', '--field', `user=${user}`, '--stdin-field', 'password'],
      {env, input: password},
    )
    expect(created.code, created.stderr).to.equal(0)
    assertNoCanary(created.stdout + created.stderr, [password], 'block create output')
  })

  after(() => home.cleanup())

  it('injects every field of the block, nested names upper-cased', async () => {
    const result = await runCli(['run', '--block', 'snowflake-credentials/prod', '--', process.execPath, fixture('report.mjs'), `${prefix}PASSWORD`, `${prefix}USER`, `${prefix}ACCOUNT`], {env})
    expect(result.code, result.stderr).to.equal(0)
    const report = parseReport(result.stdout)
    expect(report.digests[`${prefix}PASSWORD`] === sha256(password)).to.equal(true)
    expect(report.digests[`${prefix}USER`]).to.equal(sha256(user))
    expect(report.digests[`${prefix}ACCOUNT`]).to.equal(sha256('xy12345'))
    assertNoCanary(result.stdout + result.stderr, [password], 'run output')
  })

  it('checks a built-in type\'s document with the validator the build compiled: Ajv is not loaded', async () => {
    const trace = join(home.path, 'loaded.txt')
    const traced = {...env, KEYFLOW_TEST_BUILTIN_TRACE: trace, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`}
    const result = await runCli(['run', '--block', 'snowflake-credentials/prod', '--', 'sh', '-c', `printf %s "$${prefix}USER"`], {env: traced})
    expect([result.code, result.stdout], result.stderr).to.deep.equal([0, user])
    expect(readFileSync(trace, 'utf8').split('\n').filter((file) => file.includes(`${join('node_modules', 'ajv')}`))).to.deep.equal([])
  })

  it('masks the secret fields in piped output and leaves the plain ones readable', async () => {
    const result = await runCli(['run', '--block', 'snowflake-credentials/prod', '--', process.execPath, fixture('leak.mjs'), `${prefix}PASSWORD`, `${prefix}USER`], {env})
    expect(result.code, result.stderr).to.equal(0)
    assertNoCanary(result.stdout + result.stderr, [password], 'child output through keyflow')
    expect(result.stdout).to.include('*****')
    expect(result.stdout).to.include(`out: ${user}`)
    // The store holds the password encrypted: no file under the home has it in clear text.
    assertNoCanaryInTree(home.path, [password])
  })

  it('starts nothing when the block does not exist, and says which', async () => {
    const marker = join(home.path, 'ran')
    const result = await runCli(['run', '--block', 'snowflake-credentials/missing', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], {env})
    expect(result.code).to.equal(3)
    expect(result.stderr).to.include('snowflake-credentials/missing')
    expect(existsSync(marker)).to.equal(false)
  })
})
