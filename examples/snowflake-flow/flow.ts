/* eslint-disable camelcase -- block fields keep Prefect's snake_case names */
/**
 * The seed's flow (Prefect docs, "Access third-party secrets"), ported to TypeScript on keyflow:
 * the Snowflake password lives in AWS Secrets Manager; an aws-credentials block reaches it; a
 * Snowflake connector creates a table, inserts three rows with executeMany, then pages through
 * them with fetchMany(size 2) until a page comes back empty, printing [[2 rows], [1 row]].
 *
 *   keyflow run -- node --import ./examples/ts-node.mjs examples/snowflake-flow/flow.ts unsaved ACCOUNT USER [ACCESS_URL]
 *   keyflow run -- node --import ./examples/ts-node.mjs examples/snowflake-flow/flow.ts saved
 *
 * unsaved: as the seed does, the AwsSecret, SnowflakeCredentials and SnowflakeConnector are built
 *   in code and never saved; only the aws-credentials block `my-aws-creds` is loaded.
 * saved: the connector is the saved block `snowflake-connector/my-snowflake-connector`, whose
 *   credentials hold the password as the reference aws-sm://my-snowflake-pw, resolved at load.
 * Account and user are flow parameters in the seed; here they are arguments (they are not secret).
 * runFlow turns a keyflow error (a missing block, a missing secret) into keyflow's own message
 * and exit code instead of a stack trace.
 */
import {loadBlock, readAwsSecret, runFlow, SnowflakeConnector, type SnowflakeConnectorConfig} from 'keyflow'

async function unsavedConnector(account: string, user: string, accessUrl?: string): Promise<SnowflakeConnector> {
  const awsCredentials = await loadBlock('aws-credentials/my-aws-creds')
  const password = await readAwsSecret({aws_credentials: awsCredentials, secret_name: 'my-snowflake-pw'})
  const config: SnowflakeConnectorConfig = {
    ...(accessUrl ? {access_url: accessUrl} : {}),
    credentials: {account, password: typeof password === 'string' ? password : Buffer.from(password).toString('utf8'), user},
    database: 'MY_DATABASE',
    schema: 'MY_SCHEMA',
    warehouse: 'COMPUTE_WH',
  }
  return new SnowflakeConnector(config)
}

async function savedConnector(): Promise<SnowflakeConnector> {
  const block = await loadBlock('snowflake-connector/my-snowflake-connector')
  return new SnowflakeConnector(block)
}

await runFlow(async () => {
  const [variant = 'unsaved', account = '', user = '', accessUrl] = process.argv.slice(2)
  await using connector = variant === 'saved' ? await savedConnector() : await unsavedConnector(account, user, accessUrl)

  await connector.execute('CREATE TABLE IF NOT EXISTS customers (name varchar, address varchar);')
  // The seed's SQL as written: Prefect's pyformat placeholders, sent as driver binds.
  await connector.executeMany('INSERT INTO customers (name, address) VALUES (%(name)s, %(address)s);', [
    {address: 'Highway 42', name: 'Ford'},
    {address: 'Space', name: 'Unknown'},
    {address: 'Myway 88', name: 'Me'},
  ])

  const pages: unknown[][] = []
  for (;;) {
    // eslint-disable-next-line no-await-in-loop -- each page continues the same cursor
    const rows = await connector.fetchMany('SELECT * FROM customers', undefined, 2)
    if (rows.length === 0) break
    console.log(JSON.stringify(rows))
    pages.push(rows)
  }

  console.log(`[${pages.map((page) => `[${page.length} row${page.length === 1 ? '' : 's'}]`).join(', ')}]`)
})
