/// <reference types="mocha" />
/* eslint-disable camelcase -- block field names are snake_case, as in Prefect */
import {expect} from 'chai'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Harness, harness, harnessPerTest} from '../support/block-harness.js'
import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {BIN, CliResult, ROOT} from '../support/cli.js'
import {openAll} from '../support/open-store.js'

/**
 * The block commands through the built CLI. Every run's stderr, every stdout but --reveal's,
 * and every file under the keyflow home are scanned for the canary secrets of the test.
 */

const FIXTURES = join(ROOT, 'test', 'fixtures', 'blocks')

const json = (result: CliResult) => JSON.parse(result.stdout)

describe('blocks through the CLI', () => {
  describe('block register and block type', () => {
    let h: Harness
    let project: string

    before(() => {
      h = harness()
      project = join(h.home, '..', 'project')
      const installed = join(project, 'node_modules', 'keyflow-blocks-acme')
      mkdirSync(installed, {recursive: true})
      for (const file of readdirSync(join(FIXTURES, 'acme-blocks'))) copyFileSync(join(FIXTURES, 'acme-blocks', file), join(installed, file))
    })

    after(() => h.cleanup())

    it('registers the types a package exports, resolved from the working directory, idempotently', async () => {
      const first = await h.kf(['block', 'register', '-m', 'keyflow-blocks-acme', '--json'], {cwd: project})
      expect(first.code, first.stderr).to.equal(0)
      expect(json(first).types.map((type: {slug: string; status: string}) => `${type.slug}:${type.status}`)).to.deep.equal(['acme-api:registered', 'acme-job:registered'])
      const again = await h.kf(['block', 'register', '-m', 'keyflow-blocks-acme'], {cwd: project})
      expect(again.code).to.equal(0)
      expect(again.stdout).to.match(/acme-api\s+unchanged\s+1/).and.match(/acme-job\s+unchanged/)

      const index = join(project, 'node_modules', 'keyflow-blocks-acme', 'index.js')
      writeFileSync(index, readFileSync(index, 'utf8').replace("queue: {title: 'Queue', type: 'string'}", "queue: {title: 'Queue', type: 'string'}, size: {type: 'integer'}"))
      const changed = json(await h.kf(['block', 'register', '-m', 'keyflow-blocks-acme', '--json'], {cwd: project}))
      expect(changed.types).to.deep.include.members([])
      const job = changed.types.find((type: {slug: string}) => type.slug === 'acme-job')
      expect([job.status, job.schemaNumber]).to.deep.equal(['updated', 2])
      const details = json(await h.kf(['block', 'type', 'inspect', 'acme-job', '--json']))
      expect(details.schemas.map((schema: {schemaNumber: number}) => schema.schemaNumber)).to.deep.equal([1, 2])
      expect(details.fields.map((field: {name: string}) => field.name)).to.include('size')
      expect(details.secretFields).to.deep.equal(['api.api_key'])
    })

    it('registers from a path, a JSON file and a CommonJS file', async () => {
      const path = await h.kf(['block', 'register', '-m', join(FIXTURES, 'acme-blocks', 'index.js'), '--json'])
      expect(path.code, path.stderr).to.equal(0)
      const directory = await h.kf(['block', 'register', '-m', join(FIXTURES, 'acme-blocks'), '--json'])
      expect(directory.code, directory.stderr).to.equal(0)
      expect(json(directory).types.map((type: {slug: string}) => type.slug)).to.deep.equal(['acme-api', 'acme-job'])
      const file = await h.kf(['block', 'register', '-f', join(FIXTURES, 'counter.json'), '--json'])
      expect(json(file).types[0]).to.include({slug: 'counter', status: 'registered'})
      const cjs = await h.kf(['block', 'register', '-f', join(FIXTURES, 'cjs-types.cjs'), '--json'])
      expect(json(cjs).types[0]).to.include({slug: 'legacy-service', status: 'registered'})
      const list = json(await h.kf(['block', 'type', 'ls', '--json'])).types.map((type: {slug: string}) => type.slug)
      expect(list).to.include.members(['acme-api', 'acme-job', 'counter', 'legacy-service', 'secret', 'aws-credentials', 'snowflake-connector'])
    })

    it('refuses a module that throws, exports nothing or exports an invalid definition, and registers nothing', async () => {
      const before = json(await h.kf(['block', 'type', 'ls', '--json'])).types.length
      const throws = await h.kf(['block', 'register', '-m', join(FIXTURES, 'throws.mjs')])
      expect(throws.code).to.equal(2)
      expect(throws.stderr).to.include('Unable to load').and.not.include('fails on import')
      const empty = await h.kf(['block', 'register', '-m', join(FIXTURES, 'no-types.mjs')])
      expect(empty.code).to.equal(6)
      expect(empty.stderr).to.include('No blocks were registered')
      const invalid = await h.kf(['block', 'register', '-m', join(FIXTURES, 'invalid.mjs'), '--json'])
      expect(invalid.code).to.equal(6)
      const {error} = JSON.parse(invalid.stderr)
      expect(error.code).to.equal('INVALID_BLOCK_TYPE')
      expect(error.details.join('\n')).to.include('Bad_Slug').and.include('"missing" does not name').and.include('name must be')
      expect(json(await h.kf(['block', 'type', 'ls', '--json'])).types.length).to.equal(before)
      const both = await h.kf(['block', 'register'])
      expect(both.code).to.equal(2)
      const notFound = await h.kf(['block', 'register', '-m', 'no-such-package-here'])
      expect(notFound.code).to.equal(2)
    })

    it('keeps the seed commands for the built-in collections working', async () => {
      for (const module of ['prefect_aws', 'prefect_snowflake', 'aws', 'snowflake']) {
        // eslint-disable-next-line no-await-in-loop
        const result = await h.kf(['block', 'register', '-m', module, '--json'])
        expect(result.code, module).to.equal(0)
        expect(json(result).types.every((type: {status: string}) => type.status === 'unchanged')).to.equal(true)
      }

      const inspect = json(await h.kf(['block', 'type', 'inspect', 'snowflake-connector', '--json']))
      expect(inspect.secretFields).to.deep.equal([
        'credentials.password',
        'credentials.private_key',
        'credentials.private_key_passphrase',
        'credentials.token',
      ])
      expect((await h.kf(['block', 'type', 'inspect', 'nope'])).code).to.equal(3)
    })
  })

  describe('block documents', () => {
    let h: Harness
    let password: string
    let awsSecret: string
    let token: string

    before(() => {
      h = harness()
      password = canary('sfpw')
      awsSecret = canary('awskey')
      token = canary('token')
      h.canaries.push(password, awsSecret, token)
    })

    afterEach(() => assertNoCanaryInTree(h.home, h.canaries))

    after(() => h.cleanup())

    it('creates documents from a JSON file, stdin JSON, --stdin-field and --field', async () => {
      const input = join(h.home, '..', 'creds.json')
      writeFileSync(input, JSON.stringify({account: 'xy12345', password, role: 'R', user: 'etl'}))
      const fromFile = await h.kf(['block', 'create', 'snowflake-credentials', 'prod', '--from-file', input])
      expect(fromFile.code, fromFile.stderr).to.equal(0)
      expect(fromFile.stdout).to.include('Created block snowflake-credentials/prod')

      const stdinJson = await h.kf(['block', 'create', 'aws-credentials', 'dev', '--from-file', '-', '--json'], {
        input: JSON.stringify({aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: awsSecret, region_name: 'eu-west-1'}),
      })
      expect(json(stdinJson)).to.include({address: 'aws-credentials/dev', revision: 1, status: 'created'})

      const stdinField = await h.kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value'], {input: `${token}\n`})
      expect(stdinField.code, stdinField.stderr).to.equal(0)

      const fields = await h.kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=DB', '--field', 'warehouse=WH', '--field', 'schema=PUBLIC', '--field', 'fetch_size=10'])
      expect(fields.code, fields.stderr).to.equal(0)
      const exists = await h.kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value'], {input: 'x'})
      expect(exists.code).to.equal(7)
      for (const file of readdirSync(join(h.store, 'documents', 'secret'))) {
        const text = readFileSync(join(h.store, 'documents', 'secret', file), 'utf8')
        expect(JSON.parse(text).data.value.$secret.alg).to.equal('A256GCM')
      }
    })

    it('refuses a literal secret on the command line without echoing it', async () => {
      const literal = canary('argv')
      h.canaries.push(literal)
      const result = await h.kf(['block', 'create', 'secret', 'from-argv', '--field', `value=${literal}`])
      expect(result.code).to.equal(2)
      expect(result.stderr).to.include('secret field').and.include('--stdin-field')
      const reference = await h.kf(['block', 'create', 'secret', 'by-ref', '--field', 'value=env://SOME_TOKEN'])
      expect(reference.code, reference.stderr).to.equal(0)
      const inspect = json(await h.kf(['block', 'inspect', 'secret/by-ref', '--json']))
      expect(inspect.data.value).to.deep.equal({$ref: 'env://SOME_TOKEN'})
    })

    it('reports every schema violation at once, with field names, and writes nothing', async () => {
      const result = await h.kf(['block', 'create', 'snowflake-connector', 'bad', '--field', 'credentials=missing', '--field', 'fetch_size=zero', '--field', 'port=70000', '--field', 'access_url=https://x.test', '--json'])
      expect(result.code).to.equal(6)
      const {error} = JSON.parse(result.stderr)
      const details = error.details.join('\n')
      for (const field of ['credentials: no saved document', 'database: is required', 'warehouse: is required', 'schema: is required', 'fetch_size: must be integer', 'port: must be <= 65535', 'port: give either access_url']) {
        expect(details).to.include(field)
      }

      expect(existsSync(join(h.store, 'documents', 'snowflake-connector', 'bad.json'))).to.equal(false)
    })

    it('masks secret fields on inspect and shows them with --reveal and a warning', async () => {
      const masked = await h.kf(['block', 'inspect', 'snowflake-credentials/prod'])
      expect(masked.code).to.equal(0)
      expect(masked.stdout).to.match(/password\s+\*{8}/).and.include('xy12345')
      const maskedJson = json(await h.kf(['block', 'inspect', 'aws-credentials/dev', '--json']))
      expect(maskedJson.data.aws_secret_access_key).to.equal('********')
      const revealed = await h.kf(['block', 'inspect', 'aws-credentials/dev', '--reveal', '--json'], {reveal: true})
      expect(json(revealed).data.aws_secret_access_key === awsSecret).to.equal(true)
      expect(revealed.stderr).to.include('Warning: --reveal')
    })

    it('lists documents, all or by type', async () => {
      const all = json(await h.kf(['block', 'ls', '--json'])).blocks.map((block: {address: string}) => block.address)
      expect(all).to.include.members(['aws-credentials/dev', 'secret/api-token', 'snowflake-connector/prod', 'snowflake-credentials/prod'])
      const connectors = json(await h.kf(['block', 'ls', '--type', 'snowflake-connector', '--json'])).blocks
      expect(connectors).to.have.length(1)
      expect(connectors[0].references).to.deep.equal(['snowflake-credentials/prod'])
      expect((await h.kf(['block', 'ls'])).stdout).to.match(/snowflake-connector\/prod\s+snowflake-connector/)
    })

    it('updates single fields and keeps a secret sent back masked', async () => {
      const update = await h.kf(['block', 'update', 'snowflake-credentials/prod', '--field', 'role=ANALYST', '--unset', 'user', '--field', 'user=etl2'])
      expect(update.code, update.stderr).to.equal(0)
      const unset = await h.kf(['block', 'update', 'snowflake-credentials/prod', '--unset', 'role'])
      expect(unset.code).to.equal(0)
      const inspected = json(await h.kf(['block', 'inspect', 'snowflake-credentials/prod', '--json']))
      expect(inspected.data).to.deep.equal({account: 'xy12345', password: '********', user: 'etl2'})
      // Round trip: the masked document saved back keeps the stored password.
      const roundTrip = await h.kf(['block', 'create', 'snowflake-credentials', 'prod', '--overwrite', '--from-file', '-'], {input: JSON.stringify(inspected.data)})
      expect(roundTrip.code, roundTrip.stderr).to.equal(0)
      const patched = await h.kf(['block', 'update', 'snowflake-credentials/prod', '--from-file', '-'], {input: JSON.stringify({password: '********', role: 'R2'})})
      expect(patched.code).to.equal(0)
      const revealed = json(await h.kf(['block', 'inspect', 'snowflake-credentials/prod', '--reveal', '--json'], {reveal: true}))
      expect(revealed.data.password === password).to.equal(true)
      expect(revealed.data.role).to.equal('R2')
      const invalid = await h.kf(['block', 'update', 'snowflake-credentials/prod', '--unset', 'account'])
      expect(invalid.code).to.equal(6)
      expect(invalid.stderr).to.include('account: is required')
    })

    it('refuses to delete a referenced document, naming the referrers, unless forced', async () => {
      const noTty = await h.kf(['block', 'delete', 'secret/by-ref'])
      expect(noTty.code).to.equal(2)
      const referenced = await h.kf(['block', 'delete', 'snowflake-credentials/prod', '--yes'])
      expect(referenced.code).to.equal(7)
      expect(referenced.stderr).to.include('snowflake-connector/prod')
      expect(existsSync(join(h.store, 'documents', 'snowflake-credentials', 'prod.json'))).to.equal(true)
      const deleted = await h.kf(['block', 'delete', 'snowflake-credentials/prod', '--force'])
      expect(deleted.code, deleted.stderr).to.equal(0)
      expect(deleted.stdout).to.include("Deleted Block 'snowflake-credentials/prod'.")
      const missing = await h.kf(['block', 'delete', 'snowflake-credentials/prod', '--yes'])
      expect(missing.code).to.equal(3)
    })
  })

  describe('block create and delete on a terminal', () => {
    let h: Harness

    before(() => {
      h = harness()
    })

    after(() => h.cleanup())

    /** Runs keyflow on a pseudo-terminal, answering each prompt once it has appeared. */
    async function converse(args: string[], replies: Array<[prompt: string, reply: string]>): Promise<{code: number; output: string; unanswered: number}> {
      const pty = await import('node-pty')
      const child = pty.spawn(process.execPath, [BIN, ...args], {cols: 200, cwd: h.home.replace(/\.keyflow$/, ''), env: h.env() as Record<string, string>, rows: 30})
      let output = ''
      let next = 0
      const exit = new Promise<number>((resolve) => {
        child.onExit(({exitCode}) => resolve(exitCode))
      })
      child.onData((data) => {
        output += data
        if (next < replies.length && output.includes(replies[next][0])) {
          output = output.replace(replies[next][0], `<${next}>`)
          child.write(`${replies[next++][1]}\r`)
        }
      })
      const code = await exit
      return {code, output, unanswered: replies.length - next}
    }

    it('prompts for missing required fields, hiding secret input', async () => {
      const secret = canary('typed')
      h.canaries.push(secret)
      const run = await converse(['block', 'create', 'secret', 'typed'], [['Value (value) [hidden]', secret]])
      expect([run.code, run.unanswered], run.output).to.deep.equal([0, 0])
      assertNoCanary(run.output, [secret], 'the terminal')
      const revealed = await h.kf(['block', 'inspect', 'secret/typed', '--reveal', '--json'], {reveal: true})
      expect(json(revealed).data.value === secret).to.equal(true)
      assertNoCanaryInTree(h.home, h.canaries)
    })

    it('offers optional secret fields until one is answered', async () => {
      const secret = canary('sfpw')
      h.canaries.push(secret)
      const run = await converse(
        ['block', 'create', 'snowflake-credentials', 'typed', '--field', 'user=etl'],
        [
          ['Account (account)', 'xy12345'],
          ['Password (password) [hidden, Enter to skip]', secret],
        ],
      )
      expect([run.code, run.unanswered], run.output).to.deep.equal([0, 0])
      expect(run.output).to.include('xy12345').and.not.include('Private Key')
      assertNoCanary(run.output, [secret], 'the terminal')
      const revealed = json(await h.kf(['block', 'inspect', 'snowflake-credentials/typed', '--reveal', '--json'], {reveal: true}))
      expect(revealed.data.password === secret).to.equal(true)
      assertNoCanaryInTree(h.home, h.canaries)
    })

    it('asks before deleting, and deletes only on yes', async () => {
      expect((await h.kf(['block', 'create', 'secret', 'doomed', '--field', 'value=env://X'])).code).to.equal(0)
      const question = "Are you sure you want to delete block with slug 'secret/doomed'?"
      const no = await converse(['block', 'delete', 'secret/doomed'], [[question, 'n']])
      expect([no.code, no.unanswered]).to.deep.equal([0, 0])
      expect(no.output).to.include('Not deleted.')
      expect(existsSync(join(h.store, 'documents', 'secret', 'doomed.json'))).to.equal(true)
      const yes = await converse(['block', 'delete', 'secret/doomed'], [[question, 'y']])
      expect(yes.output).to.include("Deleted Block 'secret/doomed'.")
      expect(existsSync(join(h.store, 'documents', 'secret', 'doomed.json'))).to.equal(false)
    })
  })

  describe('block store: concurrency, corruption, keys', () => {
    // Each test: a fresh home; afterwards no file under it holds a canary in clear text.
    const h = harnessPerTest()

    it('loses nothing when 50 processes create and update documents at once', async () => {
      expect((await h.kf(['block', 'register', '-f', join(FIXTURES, 'counter.json')])).code).to.equal(0)
      expect((await h.kf(['block', 'create', 'counter', 'one', '--field', 'f0=0'])).code).to.equal(0)
      const secrets = Array.from({length: 25}, (_, index) => canary(`c${index}`))
      h.canaries.push(...secrets)
      const runs = [
        ...secrets.map((secret, index) => h.kf(['block', 'create', 'secret', `s${index}`, '--stdin-field', 'value'], {input: secret})),
        ...Array.from({length: 25}, (_, index) => h.kf(['block', 'update', 'counter/one', '--field', `f${index}=${index + 100}`])),
      ]
      const results = await Promise.all(runs)
      const failed = results.filter((result) => result.code !== 0)
      expect(failed.map((result) => result.stderr)).to.deep.equal([])
      const counter = json(await h.kf(['block', 'inspect', 'counter/one', '--json']))
      expect(counter.revision).to.equal(26)
      for (let index = 0; index < 25; index++) expect(counter.data[`f${index}`]).to.equal(index + 100)
      // Every secret reads back as written: opened in process with the same store and key (one
      // CLI start per document would cost more than the concurrent writes being checked).
      const opened = await openAll(h)
      for (const [index, secret] of secrets.entries()) expect(opened.get(`secret/s${index}`)?.value === secret).to.equal(true)

      const leftovers = [...readdirSync(h.store), ...readdirSync(join(h.store, 'documents', 'secret')), ...readdirSync(join(h.store, 'documents', 'counter'))]
      expect(leftovers.filter((name) => name.startsWith('.'))).to.deep.equal([])
    })

    it('names a corrupt document and keeps the rest working', async () => {
      const secret = canary('ok')
      h.canaries.push(secret)
      expect((await h.kf(['block', 'create', 'secret', 'good', '--stdin-field', 'value'], {input: secret})).code).to.equal(0)
      expect((await h.kf(['block', 'create', 'secret', 'broken', '--stdin-field', 'value'], {input: 'x'})).code).to.equal(0)
      const file = join(h.store, 'documents', 'secret', 'broken.json')
      writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40))
      const list = await h.kf(['block', 'ls', '--json'])
      expect(list.code).to.equal(0)
      expect(json(list).blocks.map((block: {address: string}) => block.address)).to.deep.equal(['secret/good'])
      expect(list.stderr).to.include(file)
      const inspect = await h.kf(['block', 'inspect', 'secret/broken'])
      expect(inspect.code).to.equal(8)
      expect(inspect.stderr).to.include(file).and.include('not valid JSON')
      expect((await h.kf(['block', 'inspect', 'secret/good', '--reveal'], {reveal: true})).code).to.equal(0)

      // A hand-edited ciphertext is an integrity error, never garbage.
      const good = join(h.store, 'documents', 'secret', 'good.json')
      const record = JSON.parse(readFileSync(good, 'utf8'))
      record.data.value.$secret.ct = Buffer.from('garbage!').toString('base64')
      writeFileSync(good, JSON.stringify(record))
      const tampered = await h.kf(['block', 'inspect', 'secret/good', '--reveal'], {reveal: true})
      expect([tampered.code, tampered.stdout]).to.deep.equal([8, ''])
      expect(tampered.stderr).to.include('failed authentication').and.include(good)
      expect((await h.kf(['block', 'delete', 'secret/broken', '--yes', '--force'])).code).to.equal(0)
    })

    it('refuses a wrong, missing or exposed master key with INTEGRITY', async () => {
      const secret = canary('keyed')
      h.canaries.push(secret)
      const keyA = Buffer.alloc(32, 1).toString('base64')
      const keyB = Buffer.alloc(32, 2).toString('base64')
      expect((await h.kf(['block', 'create', 'secret', 'k', '--stdin-field', 'value'], {env: {KEYFLOW_MASTER_KEY: keyA}, input: secret})).code).to.equal(0)
      expect(existsSync(join(h.home, 'master.key'))).to.equal(false)
      const wrong = await h.kf(['block', 'inspect', 'secret/k', '--reveal', '--json'], {env: {KEYFLOW_MASTER_KEY: keyB}, reveal: true})
      expect([wrong.code, wrong.stdout]).to.deep.equal([8, ''])
      expect(JSON.parse(wrong.stderr).error.code).to.equal('MASTER_KEY_WRONG')
      const missing = await h.kf(['block', 'inspect', 'secret/k', '--reveal'], {reveal: true})
      expect([missing.code, missing.stdout]).to.deep.equal([8, ''])
      expect(missing.stderr).to.include('no master key is configured')
      // Every record is authenticated under the master key, so even a masked inspect needs it.
      const masked = await h.kf(['block', 'inspect', 'secret/k'])
      expect(masked.code).to.equal(8)
      expect(masked.stderr).to.include('no master key is configured')

      expect((await h.kf(['block', 'create', 'secret', 'f', '--stdin-field', 'value'], {input: secret})).code).to.equal(0)
      chmodSync(join(h.home, 'master.key'), 0o644)
      const exposed = await h.kf(['block', 'inspect', 'secret/f', '--reveal'], {reveal: true})
      expect(exposed.code).to.equal(8)
      expect(exposed.stderr).to.include('chmod 600')
    })

    it('rotates the master key, from the key file and from the environment', async () => {
      const secrets = [canary('r0'), canary('r1')]
      h.canaries.push(...secrets)
      for (const [index, secret] of secrets.entries()) {
        // eslint-disable-next-line no-await-in-loop
        expect((await h.kf(['block', 'create', 'secret', `r${index}`, '--stdin-field', 'value'], {input: secret})).code).to.equal(0)
      }

      const before = readFileSync(join(h.home, 'master.key'), 'utf8')
      const rekey = await h.kf(['block', 'rekey', '--json'])
      expect(rekey.code, rekey.stderr).to.equal(0)
      expect(json(rekey)).to.include({documents: 2, values: 2})
      expect(readFileSync(join(h.home, 'master.key'), 'utf8')).to.not.equal(before)
      expect(existsSync(join(h.home, 'master.key.new'))).to.equal(false)
      for (const [index, secret] of secrets.entries()) {
        // eslint-disable-next-line no-await-in-loop
        const revealed = json(await h.kf(['block', 'inspect', `secret/r${index}`, '--reveal', '--json'], {reveal: true}))
        expect(revealed.data.value === secret).to.equal(true)
      }

      const current = readFileSync(join(h.home, 'master.key'), 'utf8').trim()
      const next = Buffer.alloc(32, 9).toString('base64')
      const noNew = await h.kf(['block', 'rekey'], {env: {KEYFLOW_MASTER_KEY: current}})
      expect(noNew.code).to.equal(2)
      const envRekey = await h.kf(['block', 'rekey'], {env: {KEYFLOW_MASTER_KEY: current, KEYFLOW_NEW_MASTER_KEY: next}})
      expect(envRekey.code, envRekey.stderr).to.equal(0)
      const revealed = json(await h.kf(['block', 'inspect', 'secret/r0', '--reveal', '--json'], {env: {KEYFLOW_MASTER_KEY: next}, reveal: true}))
      expect(revealed.data.value === secrets[0]).to.equal(true)
    })
  })
})
