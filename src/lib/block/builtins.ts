/* eslint-disable camelcase -- field names are Prefect's (snake_case), so documents match its blocks one to one */
import {SNOWFLAKE_AUTHENTICATORS} from '../snowflake/config.js'
import {BlockType, BlockTypeDefinition, checkDefinition, Violation} from './definition.js'

/**
 * The built-in block types, always available: Prefect's `Secret`, and the blocks of
 * prefect-aws (`AwsCredentials`, `AwsSecret`) and prefect-snowflake (`SnowflakeCredentials`,
 * `SnowflakeConnector`), with their field names and validation rules. Differences are listed in
 * docs/blocks.md.
 */

const secretString = (title: string, description?: string) => ({description, format: 'password', title, type: 'string', writeOnly: true})
const text = (title: string, description?: string) => ({description, title, type: 'string'})


const definitions: BlockTypeDefinition[] = [
  {
    description: 'A block that represents a secret value. The value is encrypted at rest, or kept as a reference resolved when the block is loaded.',
    fields: {properties: {value: secretString('Value', 'The secret.')}, required: ['value'], type: 'object'},
    name: 'Secret',
    secretFields: ['value'],
    slug: 'secret',
    version: '1',
  },
  {
    description:
      'Block used to manage authentication with AWS. Fields left blank are taken from the standard AWS credential chain (environment, shared files, SSO, instance metadata); fields set on the block win.',
    fields: {
      properties: {
        assume_role_arn: text('Assume Role ARN', 'A role to assume with STS after the session is built.'),
        assume_role_kwargs: {description: 'Further AssumeRole parameters (RoleSessionName, DurationSeconds, ExternalId, ...).', title: 'Assume Role Parameters', type: 'object'},
        aws_access_key_id: text('AWS Access Key ID', 'A specific AWS access key ID.'),
        aws_client_parameters: {
          additionalProperties: false,
          description: 'Extra parameters to initialize the client with.',
          properties: {
            api_version: text('API Version'),
            config: {description: 'Client configuration, as botocore Config.', title: 'Botocore Config', type: 'object'},
            endpoint_url: text('Endpoint URL', 'The complete URL for the client, e.g. a VPC endpoint or a local emulator.'),
            use_ssl: {default: true, title: 'Use SSL', type: 'boolean'},
            verify: {anyOf: [{type: 'boolean'}, {type: 'string'}], default: true, title: 'Verify'},
            verify_cert_path: text('Certificate Authority Bundle File Path'),
          },
          title: 'AWS Client Parameters',
          type: 'object',
        },
        aws_secret_access_key: secretString('AWS Access Key Secret', 'A specific AWS secret access key.'),
        aws_session_token: secretString('AWS Session Token', 'The session key for temporary credentials.'),
        profile_name: text('Profile Name', 'The profile to use when creating the session.'),
        region_name: text('Region Name', 'The AWS Region; it wins over AWS_REGION and the profile.'),
      },
      type: 'object',
    },
    name: 'AWS Credentials',
    secretFields: ['aws_secret_access_key', 'aws_session_token'],
    slug: 'aws-credentials',
    version: '1',
  },
  {
    description: 'Manages a secret in AWS Secrets Manager.',
    fields: {
      properties: {
        aws_credentials: {blockType: 'aws-credentials', title: 'AWS Credentials'},
        secret_name: text('Secret Name', 'The name (or ARN) of the secret to manage.'),
      },
      required: ['aws_credentials', 'secret_name'],
      type: 'object',
    },
    name: 'AWS Secret',
    slug: 'aws-secret',
    version: '1',
  },
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
]

const given = (value: unknown) => value !== undefined && value !== null && value !== ''

/** Prefect's SnowflakeCredentials validators, with its messages. */
function snowflakeCredentialRules(data: Record<string, unknown>): Violation[] {
  const violations: Violation[] = []
  const auth = ['password', 'private_key', 'private_key_path', 'authenticator', 'token', 'workload_identity_provider']
  if (!auth.some((field) => given(data[field]))) {
    violations.push({message: `One of the authentication keys must be provided: ${auth.join(', ')}`, path: ''})
  }

  if (given(data.private_key) && given(data.private_key_path)) {
    violations.push({message: 'Do not provide both private_key and private_key_path; select one.', path: 'private_key_path'})
  }

  if (given(data.password) && given(data.private_key_passphrase)) {
    violations.push({
      message: 'Do not provide both password and private_key_passphrase; specify private_key_passphrase only instead.',
      path: 'private_key_passphrase',
    })
  }

  // A non-string authenticator is already a schema violation; formatting it into a message could throw.
  if (given(data.authenticator) && typeof data.authenticator !== 'string') return violations
  const authenticator = given(data.authenticator) ? data.authenticator : 'snowflake'
  if (authenticator === 'oauth' && !given(data.token)) violations.push({message: 'If authenticator is set to `oauth`, `token` must be provided', path: 'token'})
  if (authenticator === 'okta_endpoint' && !given(data.endpoint)) {
    violations.push({message: 'If authenticator is set to `okta_endpoint`, `endpoint` must be provided', path: 'endpoint'})
  }

  if (authenticator === 'workload_identity') {
    if (!given(data.workload_identity_provider)) {
      violations.push({message: 'If authenticator is set to `workload_identity`, `workload_identity_provider` must be provided', path: 'workload_identity_provider'})
    } else if (data.workload_identity_provider === 'oidc' && !given(data.token)) {
      violations.push({message: 'The oidc workload identity provider needs a `token`', path: 'token'})
    }
  } else if (!given(data.user)) {
    violations.push({message: `If authenticator is set to \`${authenticator}\`, \`user\` must be provided`, path: 'user'})
  }

  return violations
}

function snowflakeConnectorRules(data: Record<string, unknown>): Violation[] {
  const violations: Violation[] = []
  if (given(data.access_url)) {
    if (typeof data.access_url === 'string' && !/^https?:\/\/[^\s/?#]+\/?$/i.test(data.access_url)) {
      violations.push({message: 'must be http(s)://host[:port], without a path', path: 'access_url'})
    }

    for (const field of ['host', 'port', 'protocol']) {
      if (given(data[field])) violations.push({message: 'give either access_url or host/port/protocol, not both', path: field})
    }
  } else if ((given(data.port) || given(data.protocol)) && !given(data.host)) {
    violations.push({message: 'port and protocol need host', path: 'host'})
  }

  return violations
}

const RULES: Record<string, (data: Record<string, unknown>) => Violation[]> = {
  'snowflake-connector': snowflakeConnectorRules,
  'snowflake-credentials': snowflakeCredentialRules,
}

export const BUILTIN_TYPES: ReadonlyMap<string, BlockType> = (() => {
  const types = new Map<string, BlockType>()
  for (const definition of definitions) {
    const {problems, type} = checkDefinition(definition, `built-in ${definition.slug}`, new Set(types.keys()))
    // A broken built-in is a bug in keyflow itself, caught by the unit tests.
    if (!type) throw new Error(problems.join('; '))
    types.set(type.slug, {...type, builtin: true, rules: RULES[type.slug]})
  }

  return types
})()

/** The collections `keyflow block register -m NAME` accepts without loading any module. */
export const BUILTIN_COLLECTIONS: Record<string, string[]> = {
  aws: ['aws-credentials', 'aws-secret'],
  'prefect-aws': ['aws-credentials', 'aws-secret'],
  'prefect-snowflake': ['snowflake-credentials', 'snowflake-connector'],
  prefect_aws: ['aws-credentials', 'aws-secret'],
  prefect_snowflake: ['snowflake-credentials', 'snowflake-connector'],
  snowflake: ['snowflake-credentials', 'snowflake-connector'],
}
