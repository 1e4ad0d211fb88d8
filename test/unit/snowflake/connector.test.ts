/* eslint-disable camelcase -- the connector config keeps Prefect's snake_case field names */
import {expect} from 'chai'
import {after, afterEach, before, beforeEach, describe, it} from 'mocha'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {inspect} from 'node:util'

import {isKeyflowError, KeyflowError} from '../../../src/lib/errors.js'
import {SnowflakeConnector, snowflakeMultiquery} from '../../../src/lib/snowflake/connector.js'
import {assertNoCanary} from '../../support/canary.js'
import {ROOT, tempDir} from '../../support/cli.js'
import {freePort} from '../../support/ports.js'
import {Fixture, passwordConfig, startFixture, USER} from '../../support/snowflake-fixture.js'

async function failure(promise: Promise<unknown>): Promise<KeyflowError> {
  try {
    await promise
  } catch (error) {
    if (isKeyflowError(error)) return error
    throw error
  }

  throw new Error('expected a KeyflowError')
}

describe('SnowflakeConnector against the local Snowflake server', () => {
  let fixture: Fixture
  let connector: SnowflakeConnector

  before(async () => {
    fixture = await startFixture({chunkRows: 100})
  })

  after(async () => {
    await fixture.server.stop()
  })

  beforeEach(() => {
    connector = new SnowflakeConnector(passwordConfig(fixture))
  })

  afterEach(async () => {
    await connector.close()
  })

  it("runs the seed's flow: create, executeMany three rows, fetchMany(2) until empty", async () => {
    await connector.execute('CREATE TABLE IF NOT EXISTS customers (name varchar, address varchar)')
    const inserted = await connector.executeMany('INSERT INTO customers (name, address) VALUES (?, ?)', [
      ['Ford', 'Highway 42'],
      ['Unknown', 'Space'],
      ['Me', 'Myway 88'],
    ])
    expect(inserted.rowsAffected).to.equal(3)
    const pages: unknown[][][] = []
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const page = await connector.fetchMany('SELECT * FROM customers', undefined, 2)
      if (page.length === 0) break
      pages.push(page)
    }

    expect(pages.map((page) => page.length)).to.deep.equal([2, 1])
    expect(pages.flat()).to.deep.equal([['Ford', 'Highway 42'], ['Unknown', 'Space'], ['Me', 'Myway 88']])
  })

  it('keeps one cursor per (query, params): paging, exhaustion, and independent cursors', async () => {
    const sql = 'SELECT range AS n FROM range(?)'
    expect(await connector.fetchOne(sql, [5])).to.deep.equal([0])
    expect(await connector.fetchMany(sql, [5], 3)).to.deep.equal([[1], [2], [3]])
    // Other params: a cursor of its own, from the start.
    expect(await connector.fetchMany(sql, [3], 2)).to.deep.equal([[0], [1]])
    expect(await connector.fetchAll(sql, [5])).to.deep.equal([[4]])
    expect(await connector.fetchAll(sql, [5])).to.deep.equal([])
    expect(await connector.fetchMany(sql, [5], 2)).to.deep.equal([])
    expect(await connector.fetchOne(sql, [5])).to.equal(undefined)
    expect(await connector.fetchOne(sql, [3])).to.deep.equal([2])
  })

  it('uses fetch_size as the default page size', async () => {
    const sized = new SnowflakeConnector(passwordConfig(fixture, {fetch_size: 4}))
    try {
      expect(await sized.fetchMany('SELECT * FROM range(10)')).to.have.length(4)
      // Prefect's `size or fetch_size`: 0 is fetch_size too.
      expect(await sized.fetchMany('SELECT * FROM range(10)', undefined, 0)).to.have.length(4)
      expect(await connector.fetchMany('SELECT * FROM range(10)')).to.have.length(1)
    } finally {
      await sized.close()
    }
  })

  it('takes pyformat %(name)s with object params in execute, executeMany and fetch*, as binds', async () => {
    await connector.execute('CREATE TABLE pyformat_people (name varchar, note varchar)')
    await connector.executeMany('INSERT INTO pyformat_people (name, note) VALUES (%(name)s, %(note)s)', [
      {name: 'Ford', note: "'); DROP TABLE pyformat_people; --"},
      {name: 'Arthur', note: '100%'},
    ])
    expect(await connector.fetchAll("SELECT name, note FROM pyformat_people WHERE name <> %(skip)s AND note LIKE '%%' ORDER BY name", {skip: 'nobody'})).to.deep.equal([
      ['Arthur', '100%'],
      ['Ford', "'); DROP TABLE pyformat_people; --"],
    ])
    expect(await connector.fetchOne('SELECT count(*) AS n FROM pyformat_people WHERE name = %(name)s', {name: 'Ford'})).to.deep.equal([1])
    const missing = await failure(connector.fetchOne('SELECT %(a)s, %(b)s', {a: 1}))
    expect(missing.message).to.equal('No parameter for placeholder %(b)s.')
    const row = await failure(connector.executeMany('INSERT INTO pyformat_people VALUES (%(name)s, %(note)s)', [{name: 'x', note: 'y'}, {name: 'z'}]))
    expect(row.message).to.equal('No parameter for placeholder %(note)s in row 2.')
  })

  it("returns rows as objects with cursorType 'dict' (Prefect's DictCursor)", async () => {
    expect(await connector.fetchAll('SELECT range AS id, \'n\' || range AS name FROM range(2)', undefined, {cursorType: 'dict'})).to.deep.equal([
      {id: 0, name: 'n0'},
      {id: 1, name: 'n1'},
    ])
    expect(await connector.fetchOne('SELECT 7 AS seven', undefined, {cursorType: 'dict'})).to.deep.equal({seven: 7})
    expect(await connector.fetchMany('SELECT %(v)s AS v', {v: 'x'}, 0, {cursorType: 'dict'})).to.deep.equal([{v: 'x'}])
  })

  it('exposes getConnection(), reusing the open connection', async () => {
    const first = await connector.getConnection()
    expect(first.isUp()).to.equal(true)
    expect(await connector.getConnection()).to.equal(first)
  })

  it('runs snowflake_multiquery, as a transaction that rolls back on failure', async () => {
    await connector.execute('CREATE TABLE multi (n integer)')
    const ids = await snowflakeMultiquery(connector, ['INSERT INTO multi VALUES (1)', 'INSERT INTO multi VALUES (2)'], {asTransaction: true})
    expect(ids).to.have.length(2)
    const failed = await failure(snowflakeMultiquery(connector, ['INSERT INTO multi VALUES (3)', 'INSERT INTO no_such_table VALUES (4)'], {asTransaction: true}))
    expect(failed.code).to.match(/^SNOWFLAKE/)
    expect(await connector.fetchAll('SELECT n FROM multi ORDER BY n')).to.deep.equal([[1], [2]])
  })

  it('starts cursors over after resetCursors()', async () => {
    const sql = 'SELECT * FROM range(3)'
    expect(await connector.fetchMany(sql, undefined, 3)).to.have.length(3)
    expect(await connector.fetchMany(sql, undefined, 3)).to.deep.equal([])
    await connector.resetCursors()
    expect(await connector.fetchMany(sql, undefined, 3)).to.deep.equal([[0], [1], [2]])
  })

  it('runs execute anew every time, while fetch continues its cursor', async () => {
    await connector.execute('CREATE TABLE counter (n integer)')
    await connector.execute('INSERT INTO counter VALUES (1)')
    await connector.execute('INSERT INTO counter VALUES (1)')
    expect(await connector.fetchAll('SELECT count(*) FROM counter')).to.deep.equal([[2]])
    const update = await connector.execute('UPDATE counter SET n = ?', [7])
    expect(update.rowsAffected).to.equal(2)
    // The same fetch is exhausted, not re-run.
    expect(await connector.fetchAll('SELECT count(*) FROM counter')).to.deep.equal([])
  })

  it('maps column types: numbers, text, booleans, dates, timestamps, JSON, binary, nulls', async () => {
    const [row] = await connector.fetchAll(
      "SELECT 42 AS i, 1.5::double AS r, 12.34::decimal(10,2) AS d, 'x' AS t, true AS b, DATE '2024-01-01' AS day, " +
        String.raw`TIMESTAMP '2024-01-01 10:00:00.123' AS ts, '{"a":[1,2]}'::json AS j, '\xDE\xAD'::blob AS bin, NULL AS nothing`,
    )
    expect(row.slice(0, 5)).to.deep.equal([42, 1.5, 12.34, 'x', true])
    expect((row[5] as Date).toISOString()).to.equal('2024-01-01T00:00:00.000Z')
    expect((row[6] as Date).toISOString()).to.equal('2024-01-01T10:00:00.123Z')
    expect(row[7]).to.deep.equal({a: [1, 2]})
    expect(Buffer.from(row[8] as Buffer).toString('hex')).to.equal('dead')
    expect(row[9]).to.equal(null)
  })

  it('pages a result larger than one chunk lazily, then streams all of it', async () => {
    const sql = 'SELECT range AS n, repeat(\'x\', 50) AS pad FROM range(50000)'
    const before = fixture.server.stats.chunks
    const first = await connector.fetchMany(sql, undefined, 10)
    expect(first.map((row) => row[0])).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    // 499 chunks of 100 rows exist; a page of 10 rows must not have pulled them all.
    expect(fixture.server.stats.chunks - before).to.be.lessThan(20)
    let count = 10
    let last = 9
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const page = await connector.fetchMany(sql, undefined, 5000)
      if (page.length === 0) break
      count += page.length
      last = page.at(-1)![0] as number
    }

    expect(count).to.equal(50_000)
    expect(last).to.equal(49_999)
    expect(fixture.server.stats.chunks - before).to.equal(499)
  })

  it('never shows its credentials when printed or serialized', async () => {
    await connector.fetchOne('SELECT 1')
    assertNoCanary(inspect(connector, {depth: 10, showHidden: true}) + JSON.stringify(connector), fixture.canaries, 'a printed connector')
  })

  it('closes with await using and logs out', async () => {
    const deleted = fixture.server.stats.sessionsDeleted
    {
      await using scoped = new SnowflakeConnector(passwordConfig(fixture))
      expect(await scoped.fetchOne('SELECT 1')).to.deep.equal([1])
    }

    expect(fixture.server.stats.sessionsDeleted).to.equal(deleted + 1)
  })

  it('connects lazily and reuses one connection', async () => {
    const {logins} = fixture.server.stats
    const lazy = new SnowflakeConnector(passwordConfig(fixture))
    expect(fixture.server.stats.logins).to.equal(logins)
    await lazy.fetchOne('SELECT 1')
    await lazy.execute('SELECT 2')
    await lazy.fetchAll('SELECT 3')
    expect(fixture.server.stats.logins).to.equal(logins + 1)
    await lazy.close()
    await lazy.close()
  })

  it('renews an expired session token and replays the statement', async () => {
    await connector.fetchOne('SELECT 1')
    const {renewals} = fixture.server.stats
    fixture.server.expireSessions()
    expect(await connector.fetchAll('SELECT 2')).to.deep.equal([[2]])
    expect(fixture.server.stats.renewals).to.equal(renewals + 1)
  })

  it('reports a dropped session as SNOWFLAKE_SESSION, then logs in again', async () => {
    await connector.fetchOne('SELECT 1')
    fixture.server.dropSessions()
    const error = await failure(connector.fetchAll('SELECT 2'))
    expect(error.code).to.equal('SNOWFLAKE_SESSION')
    expect(error.exit).to.equal(9)
    expect(await connector.fetchAll('SELECT 3')).to.deep.equal([[3]])
  })

  it('reports SQL errors with Snowflake code and SQL state, and no secret', async () => {
    const error = await failure(connector.fetchAll('SELECT * FROM no_such_table'))
    expect(error.code).to.equal('SNOWFLAKE_SQL')
    expect(error.exit).to.equal(9)
    expect(error.details.join('\n')).to.include('002003').and.include('42S02')
    assertNoCanary(JSON.stringify(error.toJSON()) + error.stack, fixture.canaries, 'the SQL error')
  })

  it('reports a wrong password as SNOWFLAKE_LOGIN (390100) without the password', async () => {
    const wrong = new SnowflakeConnector(passwordConfig(fixture, {credentials: {account: fixture.server.account, password: `${fixture.password}-wrong`, user: USER}}))
    const error = await failure(wrong.fetchOne('SELECT 1'))
    expect(error.code).to.equal('SNOWFLAKE_LOGIN')
    expect(error.message).to.include('390100')
    assertNoCanary(JSON.stringify(error.toJSON()) + error.stack, fixture.canaries, 'the login error')
    await wrong.close()
  })

  it('logs in with a key pair (encrypted PEM and passphrase) and with an OAuth token', async () => {
    const keyPair = new SnowflakeConnector(
      passwordConfig(fixture, {
        credentials: {account: fixture.server.account, authenticator: 'snowflake_jwt', private_key: fixture.privateKeyPem, private_key_passphrase: fixture.keyPassphrase, user: USER},
      }),
    )
    const oauth = new SnowflakeConnector(
      passwordConfig(fixture, {credentials: {account: fixture.server.account, authenticator: 'oauth', token: fixture.oauthToken, user: USER}}),
    )
    const badToken = new SnowflakeConnector(
      passwordConfig(fixture, {credentials: {account: fixture.server.account, authenticator: 'oauth', token: 'not-the-token', user: USER}}),
    )
    try {
      expect(await keyPair.fetchOne('SELECT 1')).to.deep.equal([1])
      expect(await oauth.fetchOne('SELECT 2')).to.deep.equal([2])
      const error = await failure(badToken.fetchOne('SELECT 3'))
      expect(error.code).to.equal('SNOWFLAKE_LOGIN')
      expect(error.message).to.include('390303')
    } finally {
      await keyPair.close()
      await oauth.close()
      await badToken.close()
    }
  })

  it('logs in with a key file (private_key_path) and the deprecated password-as-passphrase', async () => {
    const dir = tempDir()
    const keyFile = join(dir.path, 'rsa_key.p8')
    writeFileSync(keyFile, fixture.privateKeyPem, {mode: 0o600})
    const fromFile = new SnowflakeConnector(
      passwordConfig(fixture, {credentials: {account: fixture.server.account, private_key_passphrase: fixture.keyPassphrase, private_key_path: keyFile, user: USER}}),
    )
    const legacy = new SnowflakeConnector(
      passwordConfig(fixture, {credentials: {account: fixture.server.account, password: fixture.keyPassphrase, private_key: fixture.privateKeyPem, user: USER}}),
    )
    try {
      expect(await fromFile.fetchOne('SELECT 1')).to.deep.equal([1])
      expect(await legacy.fetchOne('SELECT 2')).to.deep.equal([2])
    } finally {
      await fromFile.close()
      await legacy.close()
      dir.cleanup()
    }
  })

  it('reports a failed chunk download in the middle of a stream as SNOWFLAKE_RESULT', async () => {
    const broken = await startFixture({chunkRows: 100})
    const reader = new SnowflakeConnector(passwordConfig(broken))
    try {
      const sql = 'SELECT * FROM range(1000)'
      expect(await reader.fetchMany(sql, undefined, 50)).to.have.length(50)
      broken.server.breakChunks()
      const error = await failure(reader.fetchAll(sql))
      expect(error.code).to.equal('SNOWFLAKE_RESULT')
      expect(error.exit).to.equal(9)
    } finally {
      await reader.close()
      await broken.server.stop()
    }
  })

  it('gives up on an unreachable endpoint with SNOWFLAKE_UNREACHABLE', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const error = await failure(new SnowflakeConnector(passwordConfig(fixture, {access_url: closed})).fetchOne('SELECT 1'))
    expect(error.code).to.equal('SNOWFLAKE_UNREACHABLE')
    expect(error.exit).to.equal(9)
  })

  it("applies Prefect's credential rules before connecting", () => {
    const base = passwordConfig(fixture)
    const attempt = (credentials: object) => () => new SnowflakeConnector({...base, credentials: {account: 'a', user: 'u', ...credentials}})
    expect(attempt({password: undefined})).to.throw(KeyflowError, 'One of the authentication keys must be provided')
    expect(attempt({private_key: 'k', private_key_path: '/k'})).to.throw(KeyflowError, 'Do not provide both private_key and private_key_path')
    expect(attempt({password: 'p', private_key_passphrase: 'q'})).to.throw(KeyflowError, 'Do not provide both password and private_key_passphrase')
    expect(attempt({authenticator: 'oauth'})).to.throw(KeyflowError, '`token` must be provided')
    expect(attempt({authenticator: 'okta_endpoint'})).to.throw(KeyflowError, '`endpoint` must be provided')
  })

  it('follows the server into async polling (333333) and through getResultUrl', async () => {
    const slow = await startFixture({forceAsync: true})
    try {
      await using polled = new SnowflakeConnector(passwordConfig(slow))
      expect(await polled.fetchAll('SELECT * FROM range(3)')).to.deep.equal([[0], [1], [2]])
      expect(slow.server.stats.polls).to.be.greaterThan(0)
    } finally {
      await slow.server.stop()
    }
  })

  it('interrupt() cancels the running statement on Snowflake and refuses to start another', async () => {
    const held = await startFixture()
    try {
      await using interrupted = new SnowflakeConnector(passwordConfig(held))
      expect(interrupted.interrupt(), 'nothing runs before the first statement').to.deep.equal([])
      await using running = new SnowflakeConnector(passwordConfig(held))
      held.server.holdQueries()
      const statement = running.execute('SELECT 42')
      const query = await held.server.nextQueryKnown()
      const [request, ...others] = running.interrupt()
      expect(others).to.deep.equal([])
      expect(request.queryId).to.equal(query.id)
      expect(await request.confirmed).to.equal(true)
      // By query id, in the path: the driver knows it once the submission is answered.
      expect(await held.server.nextAbort()).to.deep.equal({queryId: query.id, requestId: undefined, wasRunning: true})
      expect((await failure(statement)).code).to.equal('SNOWFLAKE_INTERRUPTED')
      const {queries} = held.server.stats
      expect((await failure(running.execute('SELECT 1'))).code).to.equal('SNOWFLAKE_INTERRUPTED')
      expect((await failure(interrupted.execute('SELECT 1'))).code).to.equal('SNOWFLAKE_INTERRUPTED')
      expect(held.server.stats.queries, 'no statement is sent after interrupt()').to.equal(queries)
    } finally {
      await held.server.stop()
    }
  })

  it('interrupt() before Snowflake has answered the submission cancels the statement by its request id', async () => {
    const held = await startFixture()
    try {
      await using running = new SnowflakeConnector(passwordConfig(held))
      held.server.holdQueries()
      // Unanswered until the abort-request: the driver has no query id to name.
      held.server.holdSubmissions()
      const statement = running.execute('SELECT 42')
      const query = await held.server.nextQuery()
      const [request, ...others] = running.interrupt()
      expect(others).to.deep.equal([])
      expect(request.queryId).to.equal(undefined)
      expect(await request.confirmed).to.equal(true)
      // By request id, in the body of POST /queries/v1/abort-request: the one the driver sent the submission with.
      expect(await held.server.nextAbort()).to.deep.equal({queryId: query.id, requestId: query.requestId, wasRunning: true})
      expect(query.requestId).to.be.a('string')
      // The submission, answered after the cancel, does not go on to the statement's result.
      expect((await failure(statement)).code).to.equal('SNOWFLAKE_INTERRUPTED')
      expect(request.queryId).to.equal(query.id)
      expect(held.server.stats.queries).to.equal(1)
    } finally {
      await held.server.stop()
    }
  })

  it('leaves no snowflake.log in the working directory', () => {
    expect(existsSync(join(process.cwd(), 'snowflake.log'))).to.equal(false)
    expect(existsSync(join(ROOT, 'snowflake.log'))).to.equal(false)
  })
})
