import {arnRegion} from '../aws/arn.js'
import {awsFailure, classifyAwsError} from '../aws/errors.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {resolveSettings} from '../settings/settings.js'
import {AwsCredentialsBlock, AwsSecretBlock} from './api.js'

const present = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value)

/** prefect-aws's assume_role_arn and assume_role_kwargs: AssumeRole's parameters, by their AWS names. */
function assumedRole(credentials: AwsCredentialsBlock, fallback: string | undefined): undefined | {arn: string; params?: Record<string, unknown>} {
  const arn = present(credentials.assume_role_arn) ?? fallback
  if (!arn) return undefined
  const params: unknown = credentials.assume_role_kwargs ?? {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new KeyflowError('assume_role_kwargs of the aws-credentials block must be an object.', {
      code: 'INVALID_ASSUME_ROLE_KWARGS',
      exit: ExitCode.VALIDATION,
      fix: 'Give AssumeRole parameters by name, e.g. {"RoleSessionName": "flow-run", "DurationSeconds": 900}.',
      where: 'aws_credentials.assume_role_kwargs',
    })
  }

  return {arn, params: params as Record<string, unknown>}
}

/**
 * Prefect's `AwsSecret.read_secret()`: the secret named by an aws-secret block, read with the
 * block's own AWS credentials. As in prefect-aws, only the block's non-blank fields are used and
 * the standard AWS chain fills the rest (keys from env or profiles, the region from
 * AWS_REGION or the profile); a region or endpoint set on the block wins, and so does an ARN's
 * region. With assume_role_arn (or --aws-role), the role is assumed from those credentials
 * first, with assume_role_kwargs as AssumeRole's other parameters. Returns the
 * SecretString, or the SecretBinary bytes.
 */
export async function readAwsSecret(
  block: AwsSecretBlock,
  version: {versionId?: string; versionStage?: string} = {},
): Promise<string | Uint8Array> {
  const credentials: AwsCredentialsBlock = block.aws_credentials ?? {}
  const settings = resolveSettings()
  const accessKeyId = present(credentials.aws_access_key_id)
  const secretAccessKey = present(credentials.aws_secret_access_key)
  // An ARN names its region, as in the chain; a name is asked in the block's region.
  const region = arnRegion(block.secret_name) ?? present(credentials.region_name) ?? settings.awsRegion
  const role = assumedRole(credentials, settings.awsRole)
  const {awsDeadline, connectSecretsManager} = await import('../aws/secrets-manager.js')
  const sm = await connectSecretsManager({
    connectTimeoutMs: settings.awsConnectTimeoutMs,
    credentials: accessKeyId && secretAccessKey ? {accessKeyId, secretAccessKey, sessionToken: present(credentials.aws_session_token)} : undefined,
    deadline: awsDeadline(settings.awsTotalTimeoutMs),
    endpoint: present(credentials.aws_client_parameters?.endpoint_url),
    maxAttempts: settings.awsMaxAttempts,
    profile: present(credentials.profile_name) ?? settings.awsProfile,
    region,
    requestTimeoutMs: settings.awsRequestTimeoutMs,
    retryMode: settings.awsRetryMode,
    role,
  })
  try {
    return (await sm.get({secretId: block.secret_name, ...version})).value
  } catch (error) {
    if (classifyAwsError(error) === 'not-found') {
      throw new KeyflowError(`AWS secret ${JSON.stringify(block.secret_name)} was not found.`, {
        code: 'AWS_SECRET_NOT_FOUND',
        exit: ExitCode.NOT_FOUND,
        fix: 'Check secret_name and the region of the aws-secret block.',
        where: `AWS Secrets Manager${region ? ` (${region})` : ''}`,
      })
    }

    throw awsFailure(error, block.secret_name, {attempts: settings.awsMaxAttempts, operation: 'GetSecretValue', region})
  }
}
