/* eslint-disable camelcase -- field names are prefect-snowflake's (snake_case), so documents match its blocks one to one */
import type {BlockTypePack} from '../block/types/builtin.js'

import {secretString, text} from '../block/types/builtin.js'
import {connectorViolations, credentialViolations, SNOWFLAKE_AUTHENTICATORS} from './config.js'

/** prefect-snowflake's `SnowflakeCredentials` and `SnowflakeConnector` blocks; their rules are the connector's (config.ts). */
export const SNOWFLAKE_BLOCK_TYPES: BlockTypePack = {
  collections: ['prefect-snowflake', 'prefect_snowflake', 'snowflake'],
  definitions: [
    {
      description: 'Block used to manage authentication with Snowflake.',
      fields: {
        properties: {
          account: text('Account', 'The Snowflake account name, e.g. nh12345.us-east-2.aws.'),
          authenticator: {
            default: 'snowflake',
            description: 'The type of authenticator to use for initializing the connection.',
            enum: [...SNOWFLAKE_AUTHENTICATORS],
            title: 'Authenticator',
            type: 'string',
          },
          autocommit: {title: 'Autocommit', type: 'boolean'},
          endpoint: text('Endpoint', 'The Okta endpoint to use when authenticator is okta_endpoint, e.g. https://acme.okta.com.'),
          password: secretString('Password', 'The password used to authenticate.'),
          private_key: secretString('Private Key', 'The PEM text of the private key used for key-pair authentication.'),
          private_key_passphrase: secretString('Private Key Passphrase', 'The passphrase of the private key.'),
          private_key_path: text('Private Key Path', 'A file holding the PEM private key.'),
          role: text('Role', 'The name of the default role to use.'),
          token: secretString('Token', 'The OAuth, programmatic access or OIDC token.'),
          user: text('User', 'The user name used to authenticate.'),
          workload_identity_provider: {enum: ['aws', 'azure', 'gcp', 'oidc'], title: 'Workload Identity Provider', type: 'string'},
        },
        required: ['account'],
        type: 'object',
      },
      name: 'Snowflake Credentials',
      secretFields: ['password', 'private_key', 'private_key_passphrase', 'token'],
      slug: 'snowflake-credentials',
      version: '1',
    },
    {
      description: 'Perform data operations against a Snowflake database.',
      fields: {
        properties: {
          access_url: text('Access URL', 'A full endpoint URL instead of the account URL, for private endpoints and tests: https://host[:port].'),
          credentials: {blockType: 'snowflake-credentials', title: 'Credentials'},
          database: text('Database', 'The name of the default database to use.'),
          fetch_size: {default: 1, minimum: 1, title: 'Fetch Size', type: 'integer'},
          host: text('Host', 'The host to connect to instead of the account URL (with port and protocol); the alternative to access_url.'),
          poll_frequency_s: {default: 1, exclusiveMinimum: 0, title: 'Poll Frequency [seconds]', type: 'number'},
          port: {maximum: 65_535, minimum: 1, title: 'Port', type: 'integer'},
          protocol: {enum: ['http', 'https'], title: 'Protocol', type: 'string'},
          schema: text('Schema', 'The name of the default schema to use.'),
          warehouse: text('Warehouse', 'The name of the default warehouse to use.'),
        },
        required: ['credentials', 'database', 'warehouse', 'schema'],
        type: 'object',
      },
      name: 'Snowflake Connector',
      slug: 'snowflake-connector',
      version: '1',
    },
  ],
  rules: {
    'snowflake-connector': (data) => connectorViolations(data),
    'snowflake-credentials': (data) => credentialViolations(data),
  },
}
