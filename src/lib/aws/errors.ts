import {ExitCode, KeyflowError} from '../errors.js'

/**
 * What an AWS SDK error means to keyflow. Only "no such secret" is a miss; everything else
 * (denied, throttled past retries, unreachable, a server fault) is a failure, so an outage
 * never looks like "not found".
 */
export type AwsErrorKind = 'deadline' | 'deleted' | 'denied' | 'invalid' | 'no-value' | 'not-found' | 'server' | 'throttled' | 'unreachable'

/**
 * An error keyflow raises about an AWS call itself, in its own words (never quoting a body):
 * the whole-resolution deadline passed (KeyflowAwsDeadline), an answer came without a value
 * (EmptySecretValue), or a body did not arrive within the attempt's budget (TimeoutError,
 * code ETIMEDOUT, which the SDK retries).
 */
export class AwsCallError extends Error {
  readonly $metadata?: {httpStatusCode?: number}
  readonly code?: string

  constructor(name: 'EmptySecretValue' | 'KeyflowAwsDeadline' | 'TimeoutError', message: string, extra: {code?: string; status?: number} = {}) {
    super(message)
    this.name = name
    this.code = extra.code
    if (extra.status !== undefined) this.$metadata = {httpStatusCode: extra.status}
  }
}

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
  // moto's IAM enforcement (and some proxies) answer a denied call with an XML 403 the JSON
  // protocol cannot parse: the status is the one fact left, and it means "denied".
  if ((error as {$metadata?: {httpStatusCode?: number}})?.$metadata?.httpStatusCode === 403) return 'denied'
  if (name === 'ResourceNotFoundException') return 'not-found'
  if (name === 'KeyflowAwsDeadline') return 'deadline'
  if (name === 'EmptySecretValue') return 'no-value'
  if (THROTTLING.has(name)) return 'throttled'
  if (DENIED.has(name) || name === 'DecryptionFailure') return 'denied'
  if (NETWORK.has(name) || name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError') return 'unreachable'
  if (name === 'InvalidRequestException') return 'deleted'
  if (name === 'InvalidParameterException' || name === 'ValidationException') return 'invalid'
  // Another error the service modelled as the caller's (ResourceExistsException, LimitExceededException):
  // not a server fault, so not retried. Unknown names without that mark stay server faults.
  if (name !== 'InternalServiceError' && (error as {$fault?: unknown})?.$fault === 'client') return 'invalid'
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
  const message = (fromAws || aboutConnection || error instanceof AwsCallError) && error instanceof Error ? error.message : ''
  const status = (error as {$metadata?: {httpStatusCode?: number}})?.$metadata?.httpStatusCode
  const text = message.length > 300 ? message.slice(0, 300) + '...' : message
  // keyflow's own errors are named by their code, if any, and then say what happened; an XML
  // 403 the JSON protocol could not parse is still a refusal, and says so.
  const label = error instanceof AwsCallError ? error.code : status === 403 && errorName(error) === 'SyntaxError' ? 'AccessDenied' : errorName(error)
  return [label, status ? `HTTP ${status}` : '', text].filter(Boolean).join(': ')
}

/** The call that failed (the chain's reads, the aws block store's writes), or the credential chain (with AssumeRole) that it waited for. */
export type AwsOperation =
  | 'BatchGetSecretValue'
  | 'CreateSecret'
  | 'credentials'
  | 'DeleteSecret'
  | 'DescribeSecret'
  | 'GetSecretValue'
  | 'ListSecrets'
  | 'ListSecretVersionIds'
  | 'PutSecretValue'
  | 'RestoreSecret'
  | 'TagResource'
  | 'UpdateSecret'
  | 'UpdateSecretVersionStage'

export interface AwsFailureContext {
  attempts: number
  operation: AwsOperation
  /** The IAM actions the call needs, for the "denied" fix; reads by default. */
  permissions?: string
  region?: string
  /** The role the call was made as, when one was assumed. */
  role?: string
}

export function awsFailure(error: unknown, secretId: string, context: AwsFailureContext): KeyflowError {
  const kind = classifyAwsError(error)
  const where = `AWS Secrets Manager${context.region ? ` (${context.region})` : ''}${context.role ? ` as role ${context.role}` : ''}, secret ${JSON.stringify(secretId)}`
  const permissions = context.permissions ?? 'secretsmanager:GetSecretValue (and BatchGetSecretValue for batches)'
  const messages: Record<AwsErrorKind, [string, string]> = {
    deadline: ['AWS Secrets Manager did not finish within the total timeout.', 'Check the network and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SECRETS_MANAGER, or raise --aws-total-timeout.'],
    deleted: ['AWS refused the request: the secret may be scheduled for deletion.', `Restore it with \`keyflow secret restore aws-sm://${secretId}\`, or use another secret.`],
    denied: [
      'AWS denied access.',
      context.operation === 'credentials'
        ? 'Check the credentials in use (profile, env vars) and the IAM policy of the role they assume.'
        : `Check the credentials in use (profile, env vars) and the IAM policy: keyflow needs ${permissions}.`,
    ],
    invalid: ['AWS rejected the request as invalid.', 'Check the secret id, version stage and version id.'],
    'no-value': ['AWS Secrets Manager answered without a secret value.', 'A real Secrets Manager always sends one: check what answers at AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SECRETS_MANAGER (a proxy, an emulator), and the secret with `aws secretsmanager get-secret-value`.'],
    'not-found': ['The secret does not exist.', 'Check the name and the region.'],
    server: ['AWS Secrets Manager failed.', `It failed after ${context.attempts} attempt(s); try again later, or raise --aws-max-attempts.`],
    throttled: ['AWS Secrets Manager throttled the requests.', `It was still throttling after ${context.attempts} attempt(s); try again later, use --aws-retry-mode adaptive, or raise --aws-max-attempts.`],
    unreachable: ['AWS Secrets Manager could not be reached, or did not answer in time.', 'Check the network, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SECRETS_MANAGER, and the timeouts (--aws-connect-timeout, --aws-request-timeout, --aws-total-timeout).'],
  }
  const [message, fix] = messages[kind]
  return new KeyflowError(message, {
    code: `AWS_${kind.toUpperCase().replace('-', '_')}`,
    details: [`${context.operation}: ${awsMessage(error)}`],
    exit: ExitCode.SOURCE_FAILURE,
    fix,
    where,
  })
}

/**
 * The credential chain failed outright (a named profile that cannot give credentials, an SSO
 * session that expired, a credential_process that failed, a role that cannot be assumed). Only the
 * error's name is shown: the SDK's message can quote a credential_process command line, tokens included.
 */
export function credentialsFailure(error: unknown, profile: string | undefined, role?: string): KeyflowError {
  const profileFix = profile
    ? `Check that profile "${profile}" exists in the AWS config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) and can give credentials, or drop --profile.`
    : 'Check the AWS credentials in use: env vars, the shared config and credentials files, SSO (aws sso login).'
  // STS answered, and said no: the credentials loaded, the role is what failed.
  const refused = role !== undefined && classifyAwsError(error) === 'denied'
  const message = refused
    ? `AWS STS refused to let these credentials assume role ${JSON.stringify(role)} (${errorName(error)}).`
    : role ? `AWS credentials could not be loaded, or role ${JSON.stringify(role)} could not be assumed.` : 'AWS credentials could not be loaded.'
  const roleFix = `Check the role ARN (a source's "role", --aws-role, KEYFLOW_AWS_ROLE, aws.role), that the role's trust policy names these credentials, and that their own policy allows sts:AssumeRole on it.`
  return new KeyflowError(message, {
    cause: error,
    code: refused ? 'AWS_ROLE_REFUSED' : 'AWS_CREDENTIALS',
    details: [errorName(error)],
    exit: ExitCode.SOURCE_FAILURE,
    fix: refused ? roleFix : role ? `${profileFix} ${roleFix}` : profileFix,
    where: [profile ? `AWS profile "${profile}"` : 'the AWS credential chain', role ? `AWS role "${role}"` : ''].filter(Boolean).join(', '),
  })
}
