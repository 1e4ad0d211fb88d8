import {ExitCode, KeyflowError} from '../errors.js'

/**
 * What an AWS SDK error means to keyflow. Only "no such secret" is a miss; everything else
 * (denied, throttled past retries, unreachable, a server fault) is a failure, so an outage
 * never looks like "not found".
 */
export type AwsErrorKind = 'deleted' | 'denied' | 'invalid' | 'not-found' | 'server' | 'throttled' | 'unreachable'

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
])
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'ExpiredToken',
  'ExpiredTokenException',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'KMSAccessDeniedException',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
])
const NETWORK = new Set(['EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'ETIMEDOUT'])

export function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error)
  const {code, name} = error as {code?: unknown; name?: unknown}
  if (typeof code === 'string' && NETWORK.has(code)) return code
  return typeof name === 'string' ? name : 'Error'
}

export function classifyAwsError(error: unknown): AwsErrorKind {
  const name = errorName(error)
  if (name === 'ResourceNotFoundException') return 'not-found'
  if (THROTTLING.has(name)) return 'throttled'
  if (DENIED.has(name) || name === 'DecryptionFailure') return 'denied'
  if (NETWORK.has(name) || name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError') return 'unreachable'
  if (name === 'InvalidRequestException') return 'deleted'
  if (name === 'InvalidParameterException' || name === 'ValidationException') return 'invalid'
  return 'server'
}

export function isRetryableKind(kind: AwsErrorKind): boolean {
  return kind === 'throttled' || kind === 'server' || kind === 'unreachable'
}

/**
 * The error's name and HTTP status, and its message only when AWS wrote it (a service
 * exception, marked by the SDK's $fault) or it is about the connection: those name secrets,
 * ARNs, hosts and timeouts, never values.
 * Anything else, such as the SyntaxError of a response body that failed to parse, can quote
 * the body, which may be a secret: its message is dropped.
 */
function awsMessage(error: unknown): string {
  const fromAws = typeof error === 'object' && error !== null && '$fault' in error && errorName(error) !== 'SyntaxError'
  // Connection failures are described by Node and the SDK's HTTP handler, never by a body.
  const aboutConnection = classifyAwsError(error) === 'unreachable'
  const message = (fromAws || aboutConnection) && error instanceof Error ? error.message : ''
  const status = (error as {$metadata?: {httpStatusCode?: number}})?.$metadata?.httpStatusCode
  const text = message.length > 300 ? message.slice(0, 300) + '...' : message
  return [errorName(error), status ? `HTTP ${status}` : '', text].filter(Boolean).join(': ')
}

export interface AwsFailureContext {
  attempts: number
  /** The IAM actions the call needs, for the "denied" fix; reads by default. */
  permissions?: string
  region?: string
}

export function awsFailure(error: unknown, secretId: string, context: AwsFailureContext): KeyflowError {
  const kind = classifyAwsError(error)
  const where = `AWS Secrets Manager${context.region ? ` (${context.region})` : ''}, secret ${JSON.stringify(secretId)}`
  const permissions = context.permissions ?? 'secretsmanager:GetSecretValue (and BatchGetSecretValue for batches)'
  const messages: Record<AwsErrorKind, [string, string]> = {
    deleted: ['AWS refused the request: the secret may be scheduled for deletion.', `Restore it with \`keyflow secret restore aws-sm://${secretId}\`, or use another secret.`],
    denied: ['AWS denied access.', `Check the credentials in use (profile, env vars) and the IAM policy: keyflow needs ${permissions}.`],
    invalid: ['AWS rejected the request as invalid.', 'Check the secret id, version stage and version id.'],
    'not-found': ['The secret does not exist.', 'Check the name and the region.'],
    server: ['AWS Secrets Manager failed.', `It failed after ${context.attempts} attempt(s); try again later, or raise --aws-max-attempts.`],
    throttled: ['AWS Secrets Manager throttled the requests.', `It was still throttling after ${context.attempts} attempt(s); try again later, use --aws-retry-mode adaptive, or raise --aws-max-attempts.`],
    unreachable: ['AWS Secrets Manager could not be reached.', 'Check the network, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SECRETS_MANAGER, and the timeouts (--aws-connect-timeout, --aws-request-timeout).'],
  }
  const [message, fix] = messages[kind]
  return new KeyflowError(message, {
    code: `AWS_${kind.toUpperCase().replace('-', '_')}`,
    details: [awsMessage(error)],
    exit: ExitCode.SOURCE_FAILURE,
    fix,
    where,
  })
}

/**
 * The credential chain failed outright (a named profile that cannot give credentials, an SSO
 * session that expired, a credential_process that failed). Only the error's name is shown: the
 * SDK's message can quote a credential_process command line, tokens included.
 */
export function credentialsFailure(error: unknown, profile: string | undefined): KeyflowError {
  return new KeyflowError('AWS credentials could not be loaded.', {
    cause: error,
    code: 'AWS_CREDENTIALS',
    details: [errorName(error)],
    exit: ExitCode.SOURCE_FAILURE,
    fix: profile
      ? `Check that profile "${profile}" exists in the AWS config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) and can give credentials, or drop --profile.`
      : 'Check the AWS credentials in use: env vars, the shared config and credentials files, SSO (aws sso login).',
    where: profile ? `AWS profile "${profile}"` : 'the AWS credential chain',
  })
}
