import type {ConnectionOptions} from 'snowflake-sdk'

import {ExitCode, KeyflowError} from '../errors.js'

/**
 * The connector's input: plain objects with the field names of prefect-snowflake's
 * `SnowflakeCredentials` and `SnowflakeConnector` blocks (snake_case), so a block document
 * maps onto them one to one. The block types are defined elsewhere with these names.
 */

export const SNOWFLAKE_AUTHENTICATORS = [
  'snowflake',
  'snowflake_jwt',
  'externalbrowser',
  'okta_endpoint',
  'oauth',
  'username_password_mfa',
  'programmatic_access_token',
  'oauth_authorization_code',
  'oauth_client_credentials',
  'workload_identity',
] as const

export type SnowflakeAuthenticator = (typeof SNOWFLAKE_AUTHENTICATORS)[number]

export type WorkloadIdentityProvider = 'aws' | 'azure' | 'gcp' | 'oidc'

export interface SnowflakeCredentialsConfig {
  account: string
  /** Default `snowflake` (user and password). An Okta URL may be given here or via `endpoint` with `okta_endpoint`. */
  authenticator?: SnowflakeAuthenticator | string
  autocommit?: boolean
  /** Okta URL for `okta_endpoint` (Prefect's legacy key `okta_endpoint` is accepted too). */
  endpoint?: string
  okta_endpoint?: string
  password?: string
  /** PEM text of the private key for key-pair (`snowflake_jwt`) authentication. */
  private_key?: string
  private_key_passphrase?: string
  private_key_path?: string
  role?: string
  /** OAuth, programmatic access or OIDC token. */
  token?: string
  user?: string
  workload_identity_provider?: WorkloadIdentityProvider
}

export interface SnowflakeConnectorConfig {
  /** A full endpoint URL, for private endpoints (PrivateLink) and tests: `https://host[:port]`. */
  access_url?: string
  credentials: SnowflakeCredentialsConfig
  database: string
  /** Default page size of fetchMany. Default 1, as in Prefect. */
  fetch_size?: number
  /** Host, port and protocol: the alternative to access_url. */
  host?: string
  /** Seconds between query-status polls while a statement runs. Default 1, as in Prefect. */
  poll_frequency_s?: number
  port?: number
  protocol?: 'http' | 'https'
  schema: string
  warehouse: string
}

/** The values of secret fields, for scrubbing them from anything keyflow shows. */
export function secretValues(credentials: SnowflakeCredentialsConfig): string[] {
  return [credentials.password, credentials.token, credentials.private_key_passphrase, credentials.private_key].filter(
    (value): value is string => typeof value === 'string' && value.length > 0,
  )
}

function invalid(message: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'SNOWFLAKE_CONFIG', exit: ExitCode.VALIDATION, fix, where: 'snowflake credentials'})
}

/** A broken rule: the field it is about ('' for the whole object), Prefect's message, and the fix. */
export interface ConfigViolation {
  fix: string
  message: string
  path: string
}

const given = (value: unknown) => value !== undefined && value !== null && value !== ''

/** The Okta URL: `endpoint`, or Prefect's legacy key `okta_endpoint`. */
const oktaEndpoint = (credentials: Record<string, unknown>) => (given(credentials.endpoint) ? credentials.endpoint : credentials.okta_endpoint)

/**
 * Prefect's SnowflakeCredentials validators, with its messages: the one statement of these
 * rules, used by the snowflake-credentials block type and by the connector.
 */
export function credentialViolations(credentials: Record<string, unknown>): ConfigViolation[] {
  const violations: ConfigViolation[] = []
  const auth = ['password', 'private_key', 'private_key_path', 'authenticator', 'token', 'workload_identity_provider']
  if (!auth.some((field) => given(credentials[field]))) {
    violations.push({fix: 'Add a password, a private key, a token or an authenticator to the credentials.', message: `One of the authentication keys must be provided: ${auth.join(', ')}`, path: ''})
  }

  if (given(credentials.private_key) && given(credentials.private_key_path)) {
    violations.push({fix: 'Remove one of private_key and private_key_path.', message: 'Do not provide both private_key and private_key_path; select one.', path: 'private_key_path'})
  }

  if (given(credentials.password) && given(credentials.private_key_passphrase)) {
    violations.push({
      fix: 'Remove password: the private key passphrase is enough for key-pair authentication.',
      message: 'Do not provide both password and private_key_passphrase; specify private_key_passphrase only instead.',
      path: 'private_key_passphrase',
    })
  }

  // A non-string authenticator is already a schema violation; formatting it into a message could throw.
  if (given(credentials.authenticator) && typeof credentials.authenticator !== 'string') return violations
  const authenticator = given(credentials.authenticator) ? (credentials.authenticator as string) : 'snowflake'
  if (authenticator === 'oauth' && !given(credentials.token)) {
    violations.push({fix: 'Add the OAuth access token as `token`.', message: 'If authenticator is set to `oauth`, `token` must be provided', path: 'token'})
  }

  if (authenticator === 'okta_endpoint' && !given(oktaEndpoint(credentials))) {
    violations.push({fix: 'Add the Okta URL as `endpoint`.', message: 'If authenticator is set to `okta_endpoint`, `endpoint` must be provided', path: 'endpoint'})
  }

  if (authenticator === 'workload_identity') {
    if (!given(credentials.workload_identity_provider)) {
      violations.push({fix: 'Set workload_identity_provider to aws, azure, gcp or oidc.', message: 'If authenticator is set to `workload_identity`, `workload_identity_provider` must be provided', path: 'workload_identity_provider'})
    } else if (credentials.workload_identity_provider === 'oidc' && !given(credentials.token)) {
      violations.push({fix: 'Add the OIDC token as `token`.', message: 'The oidc workload identity provider needs a `token`', path: 'token'})
    }
  } else if (!given(credentials.user)) {
    violations.push({fix: 'Add the Snowflake login name as `user`.', message: `If authenticator is set to \`${authenticator}\`, \`user\` must be provided`, path: 'user'})
  }

  return violations
}

/** Where the connector connects: access_url, or host with optional port and protocol. */
export function connectorViolations(config: Record<string, unknown>): ConfigViolation[] {
  const violations: ConfigViolation[] = []
  const fix = 'Give access_url, or host (with port and protocol if needed).'
  if (given(config.access_url)) {
    if (typeof config.access_url === 'string' && !/^https?:\/\/[^\s/?#]+\/?$/i.test(config.access_url)) {
      violations.push({fix, message: 'must be http(s)://host[:port], without a path', path: 'access_url'})
    }

    for (const field of ['host', 'port', 'protocol']) {
      if (given(config[field])) violations.push({fix, message: 'give either access_url or host/port/protocol, not both', path: field})
    }
  } else if ((given(config.port) || given(config.protocol)) && !given(config.host)) {
    violations.push({fix, message: 'port and protocol need host', path: 'host'})
  }

  return violations
}

/** The connector's check before it connects: the fields it needs, then the rules above. */
export function validateConfig(config: SnowflakeConnectorConfig): void {
  const {credentials} = config
  if (!credentials || typeof credentials !== 'object') throw invalid('The connector has no credentials.', 'Give a `credentials` object with at least `account`.')
  if (!credentials.account) throw invalid('The credentials have no account.', 'Set `account`, e.g. "nh12345.us-east-2.aws".')
  for (const field of ['database', 'warehouse', 'schema'] as const) {
    if (!config[field]) throw invalid(`The connector has no ${field}.`, `Set \`${field}\` on the connector.`)
  }

  const [first] = [
    ...credentialViolations(credentials as unknown as Record<string, unknown>),
    ...connectorViolations(config as unknown as Record<string, unknown>).map((violation) => ({...violation, message: `${violation.path} ${violation.message}`})),
  ]
  if (first) throw invalid(/[.!?]$/.test(first.message) ? first.message : `${first.message}.`, first.fix)
  for (const field of ['fetch_size', 'poll_frequency_s'] as const) {
    const value = config[field]
    if (value !== undefined && !(typeof value === 'number' && value > 0)) throw invalid(`\`${field}\` must be a positive number.`, `Fix \`${field}\` on the connector.`)
  }
}

function driverAuthenticator(credentials: SnowflakeCredentialsConfig): string {
  const keyPair = Boolean(credentials.private_key ?? credentials.private_key_path)
  const authenticator = credentials.authenticator ?? (keyPair ? 'snowflake_jwt' : 'snowflake')
  if (authenticator === 'okta_endpoint') return (credentials.endpoint ?? credentials.okta_endpoint)!
  if (/^https?:\/\//i.test(authenticator)) return authenticator
  // A key given with the default authenticator means key-pair, as in the Python connector.
  if (authenticator === 'snowflake' && keyPair) return 'SNOWFLAKE_JWT'
  return authenticator.toUpperCase()
}

const LOGIN_RETRIES = 3

/** The driver reads `port` and `protocol` (connection_config.js) but its types do not declare them. */
export type DriverOptions = ConnectionOptions & {port?: number; protocol?: string}

/** snowflake-sdk connection options for a validated config. */
export function driverOptions(config: SnowflakeConnectorConfig): DriverOptions {
  const {credentials} = config
  const keyPair = Boolean(credentials.private_key ?? credentials.private_key_path)
  const options: DriverOptions = {
    account: credentials.account,
    application: 'keyflow',
    authenticator: driverAuthenticator(credentials),
    // keyflow keeps no SSO/MFA token cache of the driver's: secrets live in keyflow's store only.
    clientStoreTemporaryCredential: false,
    database: config.database,
    role: credentials.role,
    schema: config.schema,
    // The driver's default (7 login retries with backoff) keeps an unreachable endpoint hanging for minutes; 3 gives up in ~15 s.
    sfRetryMaxLoginRetries: LOGIN_RETRIES,
    username: credentials.user,
    warehouse: config.warehouse,
  }
  if (keyPair) {
    options.privateKey = credentials.private_key
    options.privateKeyPath = credentials.private_key_path
    // Prefect's deprecated fallback: the password doubles as the key's passphrase.
    options.privateKeyPass = credentials.private_key_passphrase ?? credentials.password
  } else {
    options.password = credentials.password
  }

  if (credentials.token) options.token = credentials.token
  if (credentials.workload_identity_provider) {
    options.workloadIdentityProvider = credentials.workload_identity_provider.toUpperCase() as ConnectionOptions['workloadIdentityProvider']
  }

  if (config.access_url) options.accessUrl = config.access_url
  else {
    if (config.host) options.host = config.host
    if (config.port) options.port = config.port
    if (config.protocol) options.protocol = config.protocol
  }

  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as DriverOptions
}
