 
import type {Connection} from 'snowflake-sdk'

import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {generateKeyPairSync} from 'node:crypto'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {loadSnowflake} from '../../src/lib/snowflake/driver.js'
import {assertNoCanary} from '../support/canary.js'
import {baseEnv, ROOT, tempDir} from '../support/cli.js'
import {Fixture, passwordConfig, startFixture, USER} from '../support/snowflake-fixture.js'

async function destroy(connection: Connection): Promise<void> {
  await new Promise<void>((resolve) => {
    connection.destroy(() => resolve())
  })
}

function execute(connection: Connection, sqlText: string, binds?: unknown[]): Promise<{rows: unknown[]; updated: number | undefined}> {
  return new Promise((resolve, reject) => {
    connection.execute({
      binds: binds as never,
      complete: (error, statement, rows) => (error ? reject(error) : resolve({rows: rows ?? [], updated: statement.getNumUpdatedRows()})),
      sqlText,
    })
  })
}

/** The protocol as the raw driver sees it, and the connector's process-exit hook. */
describe('the local Snowflake server, driven by snowflake-sdk directly', () => {
  let fixture: Fixture

  before(async () => {
    fixture = await startFixture({chunkRows: 100})
  })

  after(async () => {
    await fixture.server.stop()
  })

  async function connect(options: Record<string, unknown> = {}): Promise<Connection> {
    const sdk = await loadSnowflake()
    // Key-pair logins send no password.
    const password = options.authenticator ? {} : {password: fixture.password}
    const connection = sdk.createConnection({accessUrl: fixture.server.url, account: fixture.server.account, ...password, username: USER, ...options})
    await new Promise<void>((resolve, reject) => {
      connection.connect((error) => (error ? reject(error) : resolve()))
    })
    return connection
  }

  it('answers synchronous queries with inline rows plus chunk URLs', async () => {
    const connection = await connect()
    try {
      const {chunks} = fixture.server.stats
      const {rows} = await execute(connection, 'SELECT range AS n FROM range(250)')
      expect(rows).to.have.length(250)
      expect(rows.at(-1)).to.deep.equal({n: 249})
      expect(fixture.server.stats.chunks - chunks).to.equal(2)
    } finally {
      await destroy(connection)
    }
  })

  it('runs array binds (executeMany) row by row and counts the rows inserted', async () => {
    const connection = await connect()
    try {
      await execute(connection, 'CREATE TABLE pairs (id integer, name varchar)')
      const {updated} = await execute(connection, 'INSERT INTO pairs VALUES (?, ?)', [[1, 'one'], [2, 'two']])
      expect(updated).to.equal(2)
      expect((await execute(connection, 'SELECT name FROM pairs WHERE id = ?', [2])).rows).to.deep.equal([{name: 'two'}])
    } finally {
      await destroy(connection)
    }
  })

  it('answers heartbeats and telemetry', async () => {
    const shape = process.env.SF_TELEMETRY_DISABLE_CONNECTION_SHAPE
    delete process.env.SF_TELEMETRY_DISABLE_CONNECTION_SHAPE
    const before = {...fixture.server.stats}
    const connection = await connect()
    try {
      await (connection as unknown as {heartbeatAsync(): Promise<void>}).heartbeatAsync()
      expect(fixture.server.stats.heartbeats).to.equal(before.heartbeats + 1)
      // The connection-shape telemetry is sent after login without being awaited.
      for (let wait = 0; fixture.server.stats.telemetry === before.telemetry && wait < 100; wait++) {
        // eslint-disable-next-line no-await-in-loop
        await new Promise((resolve) => {
          setTimeout(resolve, 20)
        })
      }

      expect(fixture.server.stats.telemetry).to.be.greaterThan(before.telemetry)
    } finally {
      process.env.SF_TELEMETRY_DISABLE_CONNECTION_SHAPE = shape
      await destroy(connection)
    }
  })

  it('refuses a key pair whose public key is not registered (390144)', async () => {
    const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    const pem = privateKey.export({format: 'pem', type: 'pkcs8'}).toString()
    const error = await connect({authenticator: 'SNOWFLAKE_JWT', privateKey: pem}).then(
      () => {},
      (error_: {code?: string}) => error_,
    )
    expect(error?.code).to.equal('390144')
  })

  it('logs the session out when a program exits without closing the connector', async () => {
    const home = tempDir()
    try {
      const deleted = fixture.server.stats.sessionsDeleted
      const connector = pathToFileURL(join(ROOT, 'dist', 'lib', 'snowflake', 'connector.js')).href
      const script = `const {SnowflakeConnector} = await import(${JSON.stringify(connector)})
const connector = new SnowflakeConnector(JSON.parse(process.env.CONFIG))
console.log(JSON.stringify(await connector.fetchAll('SELECT 40 + 2')))`
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: home.path,
        env: {...baseEnv(home.path), CONFIG: JSON.stringify(passwordConfig(fixture))},
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => {
        stdout += chunk
      })
      child.stderr.on('data', (chunk) => {
        stderr += chunk
      })
      const code = await new Promise((resolve) => {
        child.on('close', resolve)
      })
      assertNoCanary(stdout + stderr, fixture.canaries, 'the child output')
      expect(code).to.equal(0)
      expect(JSON.parse(stdout)).to.deep.equal([[42]])
      expect(fixture.server.stats.sessionsDeleted).to.equal(deleted + 1)
    } finally {
      home.cleanup()
    }
  })
})
