/* eslint-disable camelcase -- the connector config keeps Prefect's snake_case field names */
import {generateKeyPairSync} from 'node:crypto'

import {SnowflakeConnectorConfig} from '../../src/lib/snowflake/config.js'
import {canary} from './canary.js'
import {baseEnv, runCli} from './cli.js'
import {SnowflakeServer, SnowflakeServerOptions, startSnowflakeServer} from './snowflake-server/index.js'

/** A test server with one user per authenticator, all credentials canaries. */
export interface Fixture {
  canaries: string[]
  keyPassphrase: string
  oauthToken: string
  password: string
  privateKeyPem: string
  server: SnowflakeServer
}

export const USER = 'kf_tester'

export async function startFixture(options: SnowflakeServerOptions = {}): Promise<Fixture> {
  const password = canary('sfpassword')
  const oauthToken = canary('sftoken')
  const keyPassphrase = canary('sfpassphrase')
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const privateKeyPem = privateKey.export({cipher: 'aes-256-cbc', format: 'pem', passphrase: keyPassphrase, type: 'pkcs8'}).toString()
  const server = await startSnowflakeServer({
    users: [{name: USER, oauthToken, password, publicKey: publicKey.export({format: 'pem', type: 'spki'}).toString()}],
    ...options,
  })
  return {canaries: [password, oauthToken, keyPassphrase], keyPassphrase, oauthToken, password, privateKeyPem, server}
}

export function passwordConfig(fixture: Fixture, overrides: Partial<SnowflakeConnectorConfig> = {}): SnowflakeConnectorConfig {
  return {
    access_url: fixture.server.url,
    credentials: {account: fixture.server.account, password: fixture.password, user: USER},
    database: 'KEYFLOW',
    schema: 'PUBLIC',
    warehouse: 'TEST',
    ...overrides,
  }
}

/**
 * Saves `config` as a snowflake-connector block (credentials inline) through the built CLI,
 * the password going in on stdin, as a user would; returns the block's address.
 */
export async function createConnectorBlock(home: string, name: string, config: SnowflakeConnectorConfig): Promise<string> {
  const result = await runCli(['block', 'create', 'snowflake-connector', name, '--from-file', '-'], {env: baseEnv(home), input: JSON.stringify(config)})
  if (result.code !== 0) throw new Error(`block create failed (exit ${result.code}): ${result.stderr}`)
  return `snowflake-connector/${name}`
}
