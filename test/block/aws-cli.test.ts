 
import {expect} from 'chai'
import {after, afterEach, before, beforeEach, describe, it} from 'mocha'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {wideType} from '../support/block-fixtures.js'
import {harness, Harness} from '../support/block-harness.js'
import {assertNoCanaryInTree, canary} from '../support/canary.js'
import {CliResult} from '../support/cli.js'
import {Moto, requireMoto, startMoto} from '../support/moto.js'

/**
 * Every block command on the aws store, through the built CLI against moto's server: the same
 * messages, exit codes and --json as on the local store; copy between the stores; a second
 * machine (a fresh KEYFLOW_HOME with only AWS credentials) using what the first created; real
 * concurrent processes racing on one document; and no secret in argv, output, errors or on the
 * local disk.
 */

const errorOf = (result: CliResult) => {
  expect(result.stderr).to.not.match(/\n\s+at /)
  expect(result.stderr, result.stderr).to.match(/^{/)
  return JSON.parse(result.stderr).error as {code: string; exit: number; fix?: string; message: string; where?: string}
}


describe('block commands on the aws store (built CLI, moto)', () => {
  let moto: Moto
  let h: Harness
  /** A second machine: its own home, the same AWS account. */
  let other: Harness
  let kf: (args: string[], options?: {input?: string; reveal?: boolean}) => Promise<CliResult>

  before(async function () {
    requireMoto(this)
    moto = await startMoto()
  })

  after(async () => {
    await moto?.stop()
  })

  beforeEach(async () => {
    await moto.reset()
    h = harness()
    other = harness()
    kf = (args, options = {}) => h.kf(args, {...options, env: {...moto.env, KEYFLOW_BLOCK_STORE: 'aws'}})
  })

  afterEach(() => {
    // Nothing of an aws-stored document is on the local disk: no store directory, no canary anywhere.
    for (const each of [h, other]) {
      if (existsSync(each.home)) assertNoCanaryInTree(each.home, [...h.canaries, ...other.canaries])
      each.cleanup()
    }
  })

  it('create, update, ls, inspect, inspect --reveal, delete, restore: as on the local store, with the store named', async () => {
    const password = canary('sfpw')
    h.canaries.push(password)
    expect((await kf(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=xy12345', '--field', 'user=ETL', '--stdin-field', 'password'], {input: password})).code).to.equal(0)
    const connector = await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W', '--json'])
    expect(JSON.parse(connector.stdout)).to.include({address: 'snowflake-connector/prod', revision: 1, status: 'created'})
    expect(existsSync(h.store), 'no local store directory').to.equal(false)

    const ls = await kf(['block', 'ls'])
    expect(ls.code).to.equal(0)
    expect(ls.stdout).to.match(/snowflake-connector\/prod\s+snowflake-connector\s+\S.*\S\s+snowflake-credentials\/prod/)
    expect(ls.stderr).to.include('store: aws (AWS Secrets Manager (us-east-1), prefix "keyflow/")')
    const listed = JSON.parse((await kf(['block', 'ls', '--json'])).stdout)
    expect(listed.store).to.equal('aws')
    expect(listed.blocks.map((block: {address: string}) => block.address)).to.deep.equal(['snowflake-connector/prod', 'snowflake-credentials/prod'])

    const masked = JSON.parse((await kf(['block', 'inspect', 'snowflake-credentials/prod', '--json'])).stdout)
    expect(masked).to.include({store: 'aws'})
    expect(masked.data).to.deep.equal({account: 'xy12345', password: '********', user: 'ETL'})
    const revealed = JSON.parse((await kf(['block', 'inspect', 'snowflake-credentials/prod', '--reveal', '--json'], {reveal: true})).stdout)
    expect(revealed.data.password).to.equal(password)

    expect((await kf(['block', 'update', 'snowflake-credentials/prod', '--field', 'role=ANALYST'])).code).to.equal(0)
    // Same refusal, message and exit code as the local store.
    const referenced = await kf(['block', 'delete', 'snowflake-credentials/prod', '--yes', '--json'])
    expect([referenced.code, errorOf(referenced).code]).to.deep.equal([7, 'BLOCK_REFERENCED'])
    const notFound = await kf(['block', 'inspect', 'secret/none', '--json'])
    expect([notFound.code, errorOf(notFound).message]).to.deep.equal([3, 'Unable to find block document named none for block type secret'])

    const deleted = await kf(['block', 'delete', 'snowflake-connector/prod', '--yes', '--recovery-days', '10', '--json'])
    expect(deleted.code, deleted.stderr).to.equal(0)
    const {deletionDate} = JSON.parse(deleted.stdout)
    expect(new Date(deletionDate).getTime() - Date.now()).to.be.greaterThan(9 * 86_400_000)
    expect((await kf(['block', 'inspect', 'snowflake-connector/prod'])).code).to.equal(3)
    const recreate = await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W', '--json'])
    expect([recreate.code, errorOf(recreate).code]).to.deep.equal([7, 'SCHEDULED_FOR_DELETION'])
    expect(errorOf(recreate).fix).to.include('keyflow block restore snowflake-connector/prod')
    const restored = await kf(['block', 'restore', 'snowflake-connector/prod', '--json'])
    expect(JSON.parse(restored.stdout)).to.include({address: 'snowflake-connector/prod', store: 'aws'})
    expect(JSON.parse((await kf(['block', 'inspect', 'snowflake-connector/prod', '--json'])).stdout).data.database).to.equal('D')
    expect((await kf(['block', 'delete', 'snowflake-connector/prod', '--yes', '--force-delete-now'])).code).to.equal(0)
    const gone = await kf(['block', 'restore', 'snowflake-connector/prod', '--json'])
    expect([gone.code, errorOf(gone).code]).to.deep.equal([3, 'NOT_SCHEDULED_FOR_DELETION'])
  })

  it('register, type ls, type inspect; rekey explains KMS; the local-only flags are refused on local', async () => {
    const file = join(h.home, '..', 'wide.json')
    writeFileSync(file, JSON.stringify(wideType))
    expect((await kf(['block', 'register', '-f', file])).code).to.equal(0)
    const types = JSON.parse((await kf(['block', 'type', 'ls', '--json'])).stdout).types.map((type: {slug: string}) => type.slug)
    expect(types).to.include('wide')
    expect(JSON.parse((await kf(['block', 'type', 'inspect', 'wide', '--json'])).stdout).slug).to.equal('wide')
    // The other machine sees the type too.
    const seen = await other.kf(['block', 'type', 'inspect', 'wide', '--store', 'aws', '--json'], {env: moto.env})
    expect(seen.code, seen.stderr).to.equal(0)

    const rekey = await kf(['block', 'rekey', '--json'])
    expect([rekey.code, errorOf(rekey).code]).to.deep.equal([2, 'REKEY_NOT_APPLICABLE'])
    expect(rekey.stderr).to.include('KMS')
    const local = await h.kf(['block', 'delete', 'secret/x', '--yes', '--recovery-days', '9', '--json'])
    expect([local.code, errorOf(local).message]).to.deep.equal([2, '--recovery-days and --force-delete-now apply to the aws store only; the local store deletes at once.'])
  })

  it('a second machine with only AWS credentials runs a connector created on the first', async () => {
    const password = canary('pw')
    h.canaries.push(password)
    await kf(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=a', '--field', 'user=u', '--stdin-field', 'password'], {input: password})
    await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'])
    const script = 'const v = process.env.SNOWFLAKE_CONNECTOR__PROD__CREDENTIALS__PASSWORD; process.stdout.write(String(v?.length) + " " + process.env.SNOWFLAKE_CONNECTOR__PROD__DATABASE)'
    const run = await other.kf(['run', '--store', 'aws', '--env-style', 'plain', '--block', 'snowflake-connector/prod', '--', process.execPath, '-e', script], {env: moto.env})
    expect(run.code, run.stderr).to.equal(0)
    expect(run.stdout).to.equal(`${password.length} D`)
    expect(existsSync(other.store)).to.equal(false)
  })

  it('copy local -> aws -> local (another machine) round-trips every built-in type, byte for byte; again is a no-op', async () => {
    const secrets = {aws: canary('awskey'), pw: canary('sfpw'), token: canary('token')}
    h.canaries.push(...Object.values(secrets))
    const local = (args: string[], input?: string) => h.kf(args, {env: moto.env, input})
    await local(['block', 'create', 'aws-credentials', 'dev', '--field', 'aws_access_key_id=AKIA1', '--field', 'region_name=eu-west-1', '--stdin-field', 'aws_secret_access_key'], secrets.aws)
    await local(['block', 'create', 'aws-secret', 'pw', '--field', 'aws_credentials=dev', '--field', 'secret_name=my-pw'])
    await local(['block', 'create', 'secret', 'token', '--stdin-field', 'value'], secrets.token)
    await local(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=a', '--field', 'user=u', '--stdin-field', 'password'], secrets.pw)
    await local(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'])
    const addresses = ['aws-credentials/dev', 'aws-secret/pw', 'secret/token', 'snowflake-connector/prod', 'snowflake-credentials/prod']
    const reveal = async (each: Harness, store: string, address: string) => {
      const result = await each.kf(['block', 'inspect', address, '--store', store, '--reveal', '--json'], {env: moto.env, reveal: true})
      expect(result.code, result.stderr).to.equal(0)
      return JSON.parse(result.stdout).data
    }

    const dry = JSON.parse((await local(['block', 'copy', 'local', 'aws', '--dry-run', '--json'])).stdout)
    expect(dry.documents.map((entry: {status: string}) => entry.status)).to.deep.equal(['created', 'created', 'created', 'created', 'created'])
    expect(JSON.parse((await kf(['block', 'ls', '--json'])).stdout).blocks).to.deep.equal([])

    const pushed = await local(['block', 'copy', 'local', 'aws', '--json'])
    expect(pushed.code, pushed.stderr).to.equal(0)
    // Referenced documents first, so every reference resolves in the destination.
    expect(JSON.parse(pushed.stdout).documents.map((entry: {address: string}) => entry.address)).to.deep.equal(['aws-credentials/dev', 'aws-secret/pw', 'secret/token', 'snowflake-credentials/prod', 'snowflake-connector/prod'])
    const again = JSON.parse((await local(['block', 'copy', 'local', 'aws', '--json'])).stdout)
    expect(new Set(again.documents.map((entry: {status: string}) => entry.status))).to.deep.equal(new Set(['unchanged']))

    const pulled = await other.kf(['block', 'copy', 'aws', 'local', '--json'], {env: moto.env})
    expect(pulled.code, pulled.stderr).to.equal(0)
    for (const address of addresses) {
      // eslint-disable-next-line no-await-in-loop
      const [original, inAws, onOther] = await Promise.all([reveal(h, 'local', address), reveal(h, 'aws', address), reveal(other, 'local', address)])
      expect(JSON.stringify(inAws), address).to.equal(JSON.stringify(original))
      expect(JSON.stringify(onOther), address).to.equal(JSON.stringify(original))
    }

    const one = JSON.parse((await other.kf(['block', 'copy', 'aws', 'local', 'snowflake-connector/prod', '--json'], {env: moto.env})).stdout)
    expect(one.documents).to.deep.equal([
      {address: 'snowflake-credentials/prod', status: 'unchanged'},
      {address: 'snowflake-connector/prod', status: 'unchanged'},
    ])
  })

  it('copy --dry-run of one document (with what it references) and of one type\'s documents: lists what would change, writes nothing', async () => {
    const local = (args: string[], input?: string) => h.kf(args, {env: moto.env, input})
    const addressesIn = async (store: string) => JSON.parse((await h.kf(['block', 'ls', '--store', store, '--json'], {env: moto.env})).stdout).blocks.map((block: {address: string}) => block.address)
    const statuses = (result: CliResult) => {
      expect(result.code, result.stderr).to.equal(0)
      return JSON.parse(result.stdout).documents
    }

    for (const name of ['prod', 'dev']) {
      // eslint-disable-next-line no-await-in-loop
      expect((await local(['block', 'create', 'snowflake-credentials', name, '--field', 'account=a', '--field', 'user=u', '--field', 'password=env://PW'])).code).to.equal(0)
    }

    await local(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'])
    await local(['block', 'create', 'secret', 'token', '--field', 'value=env://TOKEN'])

    const one = await local(['block', 'copy', 'local', 'aws', 'snowflake-connector/prod', '--dry-run', '--json'])
    expect(statuses(one)).to.deep.equal([
      {address: 'snowflake-credentials/prod', status: 'created'},
      {address: 'snowflake-connector/prod', status: 'created'},
    ])
    const type = await local(['block', 'copy', 'local', 'aws', 'snowflake-credentials', '--dry-run', '--json'])
    expect(statuses(type)).to.deep.equal([
      {address: 'snowflake-credentials/dev', status: 'created'},
      {address: 'snowflake-credentials/prod', status: 'created'},
    ])
    expect(await addressesIn('aws')).to.deep.equal([])

    // One copied, then changed locally: the dry run tells an update from a create, and from a document left alone.
    expect((await local(['block', 'copy', 'local', 'aws', 'snowflake-credentials/prod'])).code).to.equal(0)
    expect((await local(['block', 'update', 'snowflake-credentials/prod', '--field', 'role=ANALYST'])).code).to.equal(0)
    const human = await local(['block', 'copy', 'local', 'aws', 'snowflake-credentials', '--dry-run'])
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout).to.include('Dry run: copying from the local store to the aws store would change 2 of 2; nothing was written.')
    expect(statuses(await local(['block', 'copy', 'local', 'aws', 'snowflake-credentials', '--dry-run', '--json']))).to.deep.equal([
      {address: 'snowflake-credentials/dev', status: 'created'},
      {address: 'snowflake-credentials/prod', status: 'updated'},
    ])
    expect(statuses(await local(['block', 'copy', 'local', 'aws', 'secret/token', '--dry-run', '--json']))).to.deep.equal([{address: 'secret/token', status: 'created'}])
    expect(await addressesIn('aws')).to.deep.equal(['snowflake-credentials/prod'])
    const inAws = JSON.parse((await h.kf(['block', 'inspect', 'snowflake-credentials/prod', '--store', 'aws', '--json'], {env: moto.env})).stdout)
    expect([inAws.revision, inAws.data.role]).to.deep.equal([1, undefined])
  })

  it('20 processes updating different fields of one document all land; 20 racing creates give 1 success and 19 conflicts', async function () {
    // 40 node processes on a shared machine: a generous bound, not a timing assertion.
    this.timeout(300_000)
    const file = join(h.home, '..', 'wide.json')
    writeFileSync(file, JSON.stringify(wideType))
    expect((await kf(['block', 'register', '-f', file])).code).to.equal(0)
    expect((await kf(['block', 'create', 'wide', 'shared', '--field', 'f0=start'])).code).to.equal(0)
    const updates = await Promise.all(Array.from({length: 20}, (_, index) => kf(['block', 'update', 'wide/shared', '--field', `f${index}=v${index}`, '--json'])))
    for (const result of updates) expect(result.code, result.stderr).to.equal(0)
    const final = JSON.parse((await kf(['block', 'inspect', 'wide/shared', '--json'])).stdout)
    expect(final.data).to.deep.equal(Object.fromEntries(Array.from({length: 20}, (_, index) => [`f${index}`, `v${index}`])))
    expect(final.revision).to.equal(21)

    const creates = await Promise.all(Array.from({length: 20}, (_, index) => kf(['block', 'create', 'wide', 'race', '--field', `f0=w${index}`, '--json'])))
    const succeeded = creates.filter((result) => result.code === 0)
    expect(succeeded).to.have.length(1)
    const failures = creates.filter((result) => result.code !== 0).map((result) => [result.code, errorOf(result).code, errorOf(result).message])
    expect(failures).to.deep.equal(Array.from({length: 19}, () => [7, 'ALREADY_EXISTS', 'You are attempting to save values with a name that is already in use for this block type: wide/race.']))
    const winner = JSON.parse(succeeded[0].stdout)
    const stored = JSON.parse((await kf(['block', 'inspect', 'wide/race', '--json'])).stdout)
    expect(stored.revision).to.equal(winner.revision)
  })
})
