import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {harness, Harness} from '../support/block-harness.js'
import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {CliResult} from '../support/cli.js'
import {motoClient} from '../support/moto.js'
import {fixture, parseReport, sha256} from '../support/run-child.js'
import {countingProxyPerFile, motoPerFile} from '../support/suite-fixtures.js'

/**
 * block://TYPE/NAME[#FIELD] through the built CLI, on both stores: `secret get`, `run --secret`,
 * keyflow.json, a block field referring to another block's field; provenance naming the store;
 * misses, errors and cycles with their exit codes; no value in argv, stderr, --explain or
 * --json provenance; and on the aws store, every block:// reference of one resolution loaded
 * in one BatchGetSecretValue call.
 */

const errorOf = (result: CliResult) => {
  expect(result.stderr).to.not.match(/\n\s+at /)
  return JSON.parse(result.stderr).error as {code: string; exit: number; fix?: string; message: string; where?: string}
}

interface Store {
  /** Extra environment for every run: which store, and how to reach it. */
  env: () => Record<string, string>
  kind: 'aws' | 'local'
  /** Where a document lives, as provenance names it. */
  where: (h: Harness, address: string) => string
}

function referencesOn(store: Store) {
  let h: Harness
  let token: string
  let password: string
  const kf = (args: string[], options: {env?: Record<string, string>; input?: string; reveal?: boolean} = {}) => h.kf(args, {...options, env: {...store.env(), ...options.env}})

  beforeEach(async () => {
    h = harness()
    token = canary('apitoken')
    password = canary('sfpw')
    h.canaries.push(token, password)
    // Values from stdin, never argv; argv holds only references.
    expect((await kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value'], {input: token})).code).to.equal(0)
    const credentials = await kf(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=xy12345', '--field', 'user=ETL', '--field', 'password=block://secret/api-token', '--stdin-field', 'token'], {input: password})
    expect(credentials.code, credentials.stderr).to.equal(0)
    const connector = await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W', '--field', 'fetch_size=10'])
    expect(connector.code, connector.stderr).to.equal(0)
  })

  afterEach(() => {
    assertNoCanaryInTree(join(h.home, '..'), h.canaries)
    h.cleanup()
  })

  it('secret get block://secret/NAME gives the value field; #FIELD a named field, nested ones and references resolved', async () => {
    const value = await kf(['secret', 'get', 'block://secret/api-token'], {reveal: true})
    expect([value.code, value.stdout], value.stderr).to.deep.equal([0, `${token}\n`])
    // password holds block://secret/api-token itself: resolved through the chain.
    const field = await kf(['secret', 'get', 'block://snowflake-credentials/prod#password'], {reveal: true})
    expect([field.code, field.stdout], field.stderr).to.deep.equal([0, `${token}\n`])
    // A literal secret field, decrypted (local) or as stored (aws).
    const literal = await kf(['secret', 'get', 'block://snowflake-credentials/prod#token'], {reveal: true})
    expect(literal.stdout).to.equal(`${password}\n`)
    const nested = await kf(['secret', 'get', 'TOKEN=block://snowflake-connector/prod#credentials.token', 'USER=block://snowflake-connector/prod#credentials.user', '--format', 'json'], {reveal: true})
    expect(JSON.parse(nested.stdout)).to.deep.equal({TOKEN: password, USER: 'ETL'})
    // A JSON Pointer names the field too; without an alias a block:// value is named after its document.
    const named = await kf(['secret', 'get', 'block://secret/api-token', 'block://snowflake-connector/prod#/credentials/user', '--format', 'json'], {reveal: true})
    expect(JSON.parse(named.stdout)).to.deep.equal({API_TOKEN: token, user: 'ETL'})
    // Only the field asked for is resolved: another field's broken reference does not fail it.
    const broken = await kf(['block', 'create', 'snowflake-credentials', 'broken', '--field', 'account=a', '--field', 'user=u', '--field', 'password=env://KF_TEST_NEVER_SET', '--stdin-field', 'token'], {input: password})
    expect(broken.code, broken.stderr).to.equal(0)
    expect((await kf(['secret', 'get', 'block://snowflake-credentials/broken#token'], {reveal: true})).stdout).to.equal(`${password}\n`)
    const failing = await kf(['secret', 'get', 'block://snowflake-credentials/broken#password', '--json'])
    expect([failing.code, errorOf(failing).message]).to.deep.equal([3, 'Secret "env://KF_TEST_NEVER_SET" was not found in any source.'])
  })

  it(`--explain and --json provenance name the ${store.kind} store, type, name and field, never the value`, async () => {
    const explained = await kf(['secret', 'get', 'block://snowflake-credentials/prod#password', '--explain'])
    expect(explained.code, explained.stderr).to.equal(0)
    expect(explained.stdout).to.include(`=> block snowflake-credentials/prod#password, ${store.kind} store (${store.where(h, 'snowflake-credentials/prod')})`)
    const json = JSON.parse((await kf(['secret', 'get', 'block://secret/api-token', '--explain', '--json'])).stdout)
    expect(json.secrets[0].provenance).to.deep.equal({field: 'value', name: 'api-token', source: 'block', store: store.kind, type: 'secret', where: store.where(h, 'secret/api-token')})
    expect(json.secrets[0]).to.not.have.property('value')
    const got = await kf(['secret', 'get', 'block://secret/api-token', '--json'], {reveal: true})
    const {provenance, value} = JSON.parse(got.stdout).secrets[0]
    expect(value).to.equal(token)
    assertNoCanary(JSON.stringify(provenance), h.canaries, 'the provenance')
    assertNoCanary(got.stderr, h.canaries, 'stderr')
  })

  it('run --secret X=block://... and keyflow.json inject the value; the child\'s output is masked', async () => {
    const run = await kf(['run', '--env-style', 'plain', '--secret', 'TOK=block://secret/api-token', '--secret', 'block://snowflake-credentials/prod#password', '--', process.execPath, fixture('report.mjs'), 'TOK', 'password'])
    expect(run.code, run.stderr).to.equal(0)
    expect(parseReport(run.stdout).digests).to.deep.equal({password: sha256(token), TOK: sha256(token)})
    const leak = await kf(['run', '--env-style', 'plain', '--secret', 'TOK=block://secret/api-token', '--', process.execPath, fixture('leak.mjs'), 'TOK'])
    expect(leak.code, leak.stderr).to.equal(0)
    expect(leak.stdout).to.include('out: *****')
    const project = join(h.home, '..', 'keyflow.json')
    writeFileSync(project, JSON.stringify({run: {envStyle: 'plain', secrets: {API_TOKEN: 'block://secret/api-token', SF_TOKEN: 'block://snowflake-connector/prod#credentials.token'}}}))
    const declared = await kf(['run', '--', process.execPath, fixture('report.mjs'), 'API_TOKEN', 'SF_TOKEN'], {env: {KEYFLOW_PROJECT_FILE: project}})
    expect(declared.code, declared.stderr).to.equal(0)
    expect(parseReport(declared.stdout).digests).to.deep.equal({API_TOKEN: sha256(token), SF_TOKEN: sha256(password)})
  })

  it(`run --explain names the ${store.kind} store for block:// and --block, never a value, and does not start the command`, async () => {
    const marker = join(h.home, '..', 'started')
    const command = ['--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`]
    const explained = await kf(['run', '--explain', '--env-style', 'plain', '--secret', 'TOK=block://secret/api-token', '--block', 'snowflake-credentials/prod', ...command])
    expect(explained.code, explained.stderr).to.equal(0)
    expect(explained.stdout).to.include(`  TOK\n    <- --secret TOK=block://secret/api-token: block secret/api-token#value, ${store.kind} store (${store.where(h, 'secret/api-token')})`)
    expect(explained.stdout).to.include(`  SNOWFLAKE_CREDENTIALS__PROD__PASSWORD\n    <- --block snowflake-credentials/prod: block snowflake-credentials/prod#password, ${store.kind} store (${store.where(h, 'snowflake-credentials/prod')})`)
    expect(explained.stdout).to.include(`  SNOWFLAKE_CREDENTIALS__PROD__ACCOUNT\n    <- --block snowflake-credentials/prod: block snowflake-credentials/prod#account, ${store.kind} store (${store.where(h, 'snowflake-credentials/prod')}) (not masked)`)
    const json = JSON.parse((await kf(['run', '--explain', '--json', '--secret', 'TOK=block://secret/api-token', ...command])).stdout)
    expect(json.injections).to.deep.equal([{kind: 'secret', origin: '--secret TOK=block://secret/api-token', provenance: {field: 'value', name: 'api-token', source: 'block', store: store.kind, type: 'secret', where: store.where(h, 'secret/api-token')}, secret: true, variables: ['PREFECT__CONTEXT__SECRETS__TOK']}])
    expect(existsSync(marker), 'the command was not started').to.equal(false)
    // A miss fails --explain as it would fail the run, naming the store.
    const missing = await kf(['run', '--explain', '--secret', 'X=block://secret/none', ...command])
    expect([missing.code, missing.stderr.includes(`no document secret/none in the ${store.kind} store`)]).to.deep.equal([3, true])
  })

  it(`block ls says the ${store.kind} store answered, on stderr and in --json`, async () => {
    const ls = await kf(['block', 'ls'])
    expect(ls.code, ls.stderr).to.equal(0)
    expect(ls.stderr).to.include(`store: ${store.kind} (${store.kind === 'local' ? h.store : 'AWS Secrets Manager (us-east-1), prefix "keyflow/"'})`)
    const json = JSON.parse((await kf(['block', 'ls', '--json'])).stdout)
    expect([json.store, json.blocks.length]).to.deep.equal([store.kind, 3])
  })

  it('run --block loads a block whose field refers to another block\'s field', async () => {
    const prefix = 'SNOWFLAKE_CREDENTIALS__PROD__'
    const run = await kf(['run', '--env-style', 'plain', '--block', 'snowflake-credentials/prod', '--', process.execPath, fixture('report.mjs'), `${prefix}PASSWORD`])
    expect(run.code, run.stderr).to.equal(0)
    expect(parseReport(run.stdout).digests[`${prefix}PASSWORD`]).to.equal(sha256(token))
  })

  it('a missing document or field is a miss saying how to fix it (exit 3); unknown type 3, unknown field 5, not text 5, no field 2', async () => {
    const missing = await kf(['secret', 'get', 'block://secret/none', '--json'])
    expect([missing.code, errorOf(missing).code]).to.deep.equal([3, 'SECRET_NOT_FOUND'])
    expect(missing.stderr).to.include(`no document secret/none in the ${store.kind} store`)
    expect(errorOf(missing).fix).to.include(`keyflow block create secret none${store.kind === 'aws' ? ' --store aws' : ''} --stdin-field value`)
    const unset = await kf(['secret', 'get', 'block://snowflake-credentials/prod#role', '--json'])
    expect([unset.code, errorOf(unset).fix]).to.deep.equal([3, `Set it in one of them, e.g.: keyflow block update snowflake-credentials/prod${store.kind === 'aws' ? ' --store aws' : ''} --field role=VALUE`])
    const type = await kf(['secret', 'get', 'block://no-such-type/x', '--json'])
    expect([type.code, errorOf(type).code]).to.deep.equal([3, 'BLOCK_TYPE_NOT_FOUND'])
    const field = await kf(['secret', 'get', 'block://secret/api-token#nope', '--json'])
    expect([field.code, errorOf(field).code]).to.deep.equal([5, 'BLOCK_FIELD_UNKNOWN'])
    // The store asked is named, in the error and in --explain.
    expect(errorOf(field).where).to.equal(`reference block://secret/api-token#nope, ${store.kind} store (${store.kind === 'local' ? h.store : 'AWS Secrets Manager (us-east-1), prefix "keyflow/"'})`)
    const explained = await kf(['secret', 'get', 'block://secret/api-token#nope', '--explain'])
    expect([explained.code, explained.stdout]).to.satisfy(([code, stdout]: [number, string]) => code === 5 && stdout.includes(`block    failure   Block type secret has no field "nope". (reference block://secret/api-token#nope, ${store.kind} store (`))
    const number = await kf(['secret', 'get', 'block://snowflake-connector/prod#fetch_size', '--json'])
    expect([number.code, errorOf(number).message]).to.deep.equal([5, 'Field fetch_size of snowflake-connector/prod is a number, not text.'])
    const object = await kf(['secret', 'get', 'block://snowflake-connector/prod#credentials', '--json'])
    expect([object.code, errorOf(object).code]).to.deep.equal([5, 'BLOCK_FIELD_NOT_TEXT'])
    expect(errorOf(object).fix).to.include('block://snowflake-connector/prod#credentials.FIELD')
    const noField = await kf(['secret', 'get', 'block://snowflake-credentials/prod', '--json'])
    expect([noField.code, errorOf(noField).code]).to.deep.equal([2, 'BLOCK_FIELD_REQUIRED'])
    const bad = await kf(['secret', 'get', 'block://Secret', '--json'])
    expect([bad.code, errorOf(bad).code]).to.deep.equal([2, 'INVALID_BLOCK_ADDRESS'])
    // A block field is written by the block commands, never by secret set.
    const set = await kf(['secret', 'set', 'block://secret/api-token', '--json'], {input: 'x'})
    expect([set.code, errorOf(set).fix]).to.deep.equal([2, 'Pipe the value to `keyflow block update secret/api-token --stdin-field value` (or `keyflow block create` for a new document).'])
    // In run, every problem at once, under its declaration.
    const run = await kf(['run', '--secret', 'A=block://secret/none', '--secret', 'B=block://secret/api-token#nope', '--', 'true'])
    expect(run.code).to.equal(5)
    expect(run.stderr).to.include('block://secret/none').and.include('has no field "nope"')
  })

  it('a block field referring to itself, or a cycle of them, is a clear error (exit 6), not a hang', async () => {
    expect((await kf(['block', 'create', 'secret', 'a', '--from-file', '-'], {input: JSON.stringify({value: {$ref: 'block://secret/b'}})})).code).to.equal(0)
    expect((await kf(['block', 'create', 'secret', 'b', '--from-file', '-'], {input: JSON.stringify({value: {$ref: 'block://secret/a#value'}})})).code).to.equal(0)
    expect((await kf(['block', 'create', 'secret', 'self', '--from-file', '-'], {input: JSON.stringify({value: {$ref: 'block://secret/self'}})})).code).to.equal(0)
    const loop = await kf(['secret', 'get', 'block://secret/a', '--json'])
    expect([loop.code, errorOf(loop).code, errorOf(loop).message]).to.deep.equal([6, 'BLOCK_CYCLE', 'Block field secret/a#value refers back to itself through block:// references: secret/a#value -> secret/b#value -> secret/a#value.'])
    const self = await kf(['secret', 'get', 'block://secret/self', '--json'])
    expect([self.code, errorOf(self).message]).to.deep.equal([6, 'Block field secret/self#value refers back to itself through block:// references: secret/self#value -> secret/self#value.'])
    const run = await kf(['run', '--block', 'secret/self', '--', 'true'])
    expect(run.code).to.equal(6)
    // One field of a document referring to another of the same document is no loop.
    const sibling = await kf(['block', 'create', 'snowflake-credentials', 'sibling', '--field', 'account=a', '--field', 'user=u', '--field', 'password=block://snowflake-credentials/sibling#token', '--stdin-field', 'token'], {input: password})
    expect(sibling.code, sibling.stderr).to.equal(0)
    expect((await kf(['secret', 'get', 'block://snowflake-credentials/sibling#password'], {reveal: true})).stdout).to.equal(`${password}\n`)
    // Two references to one document, side by side, are not a cycle.
    const twice = await kf(['secret', 'get', 'A=block://secret/api-token', 'B=block://snowflake-credentials/prod#password', '--format', 'env'], {reveal: true})
    expect(twice.code, twice.stderr).to.equal(0)
  })
}

describe('block:// references (built CLI)', () => {
describe('on the local store', () => {
  referencesOn({env: () => ({}), kind: 'local', where: (h, address) => join(h.store, 'documents', `${address}.json`)})

  it('an integrity error is a failure, never a miss (exit 8)', async () => {
    const h = harness()
    try {
      expect((await h.kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value'], {input: canary('x')})).code).to.equal(0)
      const file = join(h.store, 'documents', 'secret', 'api-token.json')
      const record = JSON.parse(readFileSync(file, 'utf8'))
      record.created = '2000-01-01T00:00:00.000Z'
      writeFileSync(file, JSON.stringify(record))
      const result = await h.kf(['secret', 'get', 'block://secret/api-token', '--json'])
      expect([result.code, errorOf(result).code]).to.deep.equal([8, 'STORE_TAMPERED'])
    } finally {
      h.cleanup()
    }
  })
})

describe('on the aws store (moto)', () => {
  const moto = motoPerFile()
  const proxy = countingProxyPerFile(moto)

  const env = () => ({...moto.env, AWS_ENDPOINT_URL: proxy.url, KEYFLOW_BLOCK_STORE: 'aws'})
  referencesOn({env, kind: 'aws', where: (_h, address) => `AWS Secrets Manager (us-east-1), secret "keyflow/blocks/${address}"`})

  it('a stored reference edited outside keyflow into one that does not parse is an integrity error (exit 8), not a usage error', async () => {
    const h = harness()
    try {
      const env = {...moto.env, KEYFLOW_BLOCK_STORE: 'aws'}
      const created = await h.kf(['block', 'create', 'secret', 'edited', '--field', 'value=env://KF_EDITED_TARGET'], {env})
      expect(created.code, created.stderr).to.equal(0)
      const {client, sdk} = await motoClient(moto)
      const id = 'keyflow/blocks/secret/edited'
      const {SecretString} = await client.send(new sdk.GetSecretValueCommand({SecretId: id}))
      expect(SecretString).to.include('env://KF_EDITED_TARGET')
      await client.send(new sdk.PutSecretValueCommand({SecretId: id, SecretString: SecretString!.replace('env://KF_EDITED_TARGET', 'env://KF EDITED')}))
      const result = await h.kf(['secret', 'get', 'block://secret/edited', '--json'], {env})
      expect([result.code, errorOf(result).code, errorOf(result).where]).to.deep.equal([8, 'STORED_REFERENCE_INVALID', 'secret/edited#value'])
    } finally {
      h.cleanup()
    }
  })

  it('loads every block:// reference of one resolution in one BatchGetSecretValue call, --store aws on the command line', async () => {
    const h = harness()
    try {
      const values = ['one', 'two', 'three'].map((label) => canary(label))
      h.canaries.push(...values)
      for (const [index, value] of values.entries()) {
        // eslint-disable-next-line no-await-in-loop
        expect((await h.kf(['block', 'create', 'secret', `s${index}`, '--store', 'aws', '--stdin-field', 'value'], {env: {...moto.env, AWS_ENDPOINT_URL: proxy.url}, input: value})).code).to.equal(0)
      }

      proxy.reset()
      const got = await h.kf(['secret', 'get', '--store', 'aws', 'A=block://secret/s0', 'B=block://secret/s1', 'C=block://secret/s2', '--format', 'json'], {env: {...moto.env, AWS_ENDPOINT_URL: proxy.url}, reveal: true})
      expect(got.code, got.stderr).to.equal(0)
      expect(JSON.parse(got.stdout)).to.deep.equal({A: values[0], B: values[1], C: values[2]})
      expect(Object.fromEntries(proxy.counts)).to.deep.equal({'secretsmanager.BatchGetSecretValue': 1})
      // run: the same, with an aws-sm:// secret beside them (the AWS source batches its own).
      proxy.reset()
      const run = await h.kf(['run', '--store', 'aws', '--env-style', 'plain', '--secret', 'A=block://secret/s0', '--secret', 'B=block://secret/s1', '--', process.execPath, fixture('report.mjs'), 'A', 'B'], {env: {...moto.env, AWS_ENDPOINT_URL: proxy.url}})
      expect(run.code, run.stderr).to.equal(0)
      expect(parseReport(run.stdout).digests).to.deep.equal({A: sha256(values[0]), B: sha256(values[1])})
      expect(Object.fromEntries(proxy.counts)).to.deep.equal({'secretsmanager.BatchGetSecretValue': 1})
      // block check takes --store too, and follows block:// in a field.
      const referring = await h.kf(['block', 'create', 'secret', 'referring', '--store', 'aws', '--field', 'value=block://secret/s0'], {env: {...moto.env, AWS_ENDPOINT_URL: proxy.url}})
      expect(referring.code, referring.stderr).to.equal(0)
      const checked = await h.kf(['block', 'check', 'secret/referring', '--store', 'aws', '--json'], {env: {...moto.env, AWS_ENDPOINT_URL: proxy.url}})
      expect(checked.code, checked.stderr).to.equal(0)
      expect(JSON.parse(checked.stdout).checks).to.deep.equal([{address: 'secret/referring', blocks: 0, ok: true, references: 1}])
    } finally {
      h.cleanup()
    }
  })
})
})
