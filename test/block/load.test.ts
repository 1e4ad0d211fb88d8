/// <reference types="mocha" />
/* eslint-disable camelcase -- block field names are snake_case, as in Prefect */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {harness} from '../support/block-harness.js'
import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {ROOT} from '../support/cli.js'
import {Moto, motoClient, requireMoto, startMoto} from '../support/moto.js'

/**
 * The library API (dist/index.js, what `import 'keyflow'` gets) in a child process: references resolved from moto
 * only when the block is loaded, nested blocks loaded in place, env-var flattening.
 */

const API = pathToFileURL(join(ROOT, 'dist', 'index.js')).href

const SCRIPT = `
const {blockEnv, loadBlock} = await import(process.env.API_URL)
const expected = process.env.EXPECTED
try {
  const sf = await loadBlock('snowflake-connector/prod')
  const env = await blockEnv('snowflake-connector/prod')
  const secret = await loadBlock('aws-secret/inline')
  console.log(JSON.stringify({
    database: sf.database,
    envNames: env.map((entry) => entry.name),
    envPasswordOk: env.find((entry) => entry.name === 'SNOWFLAKE_CONNECTOR__PROD__CREDENTIALS__PASSWORD').value === expected,
    inlineKeyOk: secret.aws_credentials.aws_secret_access_key === expected,
    passwordOk: sf.credentials.password === expected,
    secretNames: env.filter((entry) => entry.secret).map((entry) => entry.name),
    user: sf.credentials.user,
  }))
} catch (error) {
  console.log(JSON.stringify({code: error.code, exit: error.exit, message: error.message}))
}
`

async function runScript(env: Record<string, string | undefined>): Promise<{stderr: string; stdout: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {env: env as NodeJS.ProcessEnv})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', () => resolve({stderr, stdout}))
  })
}

describe('loadBlock: references resolved from AWS (moto) at load time', () => {
  let moto: Moto
  let h: ReturnType<typeof harness>
  let password: string

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
    h = harness()
    password = canary('sm')
    h.canaries.push(password)
  })

  after(async () => {
    await moto?.stop()
    h?.cleanup()
  })

  it('stores the reference, not the value, and resolves it only when loaded', async () => {
    const sm = await motoClient(moto)
    const create = async (args: string[], input?: string) => {
      const result = await h.kf(['block', 'create', ...args], {env: moto.env, input})
      expect(result.code, result.stderr).to.equal(0)
    }

    // Saved before the AWS secret exists: nothing is resolved on save.
    await create(['snowflake-credentials', 'prod', '--field', 'account=xy12345', '--field', 'user=etl', '--field', 'password=aws-sm://my-snowflake-pw#my-snowflake-pw'])
    await create(['snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=DB', '--field', 'warehouse=WH', '--field', 'schema=S', '--field', 'access_url=http://127.0.0.1:1'])
    await create(['aws-secret', 'inline', '--from-file', '-'], JSON.stringify({aws_credentials: {aws_secret_access_key: {$ref: 'env://INLINE_KEY'}, region_name: 'us-east-1'}, secret_name: 'x'}))
    const stored = JSON.parse(readFileSync(join(h.store, 'documents', 'snowflake-credentials', 'prod.json'), 'utf8'))
    expect(stored.data.password).to.deep.equal({$ref: 'aws-sm://my-snowflake-pw#my-snowflake-pw'})

    const env = {...h.env(moto.env), API_URL: API, EXPECTED: password, INLINE_KEY: password}
    const before = await runScript(env)
    expect(JSON.parse(before.stdout)).to.include({code: 'SECRET_NOT_FOUND', exit: 3})

    await sm.create('my-snowflake-pw', JSON.stringify({'my-snowflake-pw': password}))
    const loaded = await runScript(env)
    assertNoCanary(loaded.stdout, [password], 'the API script output')
    assertNoCanary(loaded.stderr, [password], 'the API script stderr')
    const result = JSON.parse(loaded.stdout)
    expect(result).to.include({database: 'DB', envPasswordOk: true, inlineKeyOk: true, passwordOk: true, user: 'etl'})
    expect(result.envNames).to.include.members(['SNOWFLAKE_CONNECTOR__PROD__DATABASE', 'SNOWFLAKE_CONNECTOR__PROD__ACCESS_URL', 'SNOWFLAKE_CONNECTOR__PROD__CREDENTIALS__ACCOUNT'])
    expect(result.secretNames).to.deep.equal(['SNOWFLAKE_CONNECTOR__PROD__CREDENTIALS__PASSWORD'])
    assertNoCanaryInTree(h.home, h.canaries)
  })
})
