import type {AwsConnection} from './secrets-manager.js'

import {ExitCode, KeyflowError} from '../errors.js'
import {inFrontOfCache, Invocation, Settings} from '../invocation.js'
import {combinedFailure, openChain, Resolution, resolveReferences} from '../secret/chain.js'
import {ConnectSecretsManager} from '../secret/source.js'
import {awsPlugin} from '../secret/sources/aws.js'
import {AwsCredentialsBlock, AwsSecretBlock} from './block-types.js'

const present = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value)

/** prefect-aws's assume_role_arn and assume_role_kwargs: AssumeRole's parameters, by their AWS names. */
function assumedRole(credentials: AwsCredentialsBlock, fallback: string | undefined): AwsConnection['role'] {
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
 * block's own AWS credentials. It goes through the chain's AWS source, with the invocation's
 * settings (timeouts, retries) and the same misses and errors as `aws-sm://` references. As in
 * prefect-aws, only the block's non-blank fields are used and the standard AWS chain fills the
 * rest (keys from env or profiles, the region from AWS_REGION or the profile); a region or
 * endpoint set on the block wins, and an ARN's own region wins over both (as in the chain). With
 * assume_role_arn (or --aws-role), the role is assumed from those credentials first, with
 * assume_role_kwargs as AssumeRole's other parameters. Returns the SecretString, or the
 * SecretBinary bytes.
 */
export async function readAwsSecret(
  invocation: Invocation,
  block: AwsSecretBlock,
  version: {versionId?: string; versionStage?: string} = {},
): Promise<string | Uint8Array> {
  const {connect, settings: blockSettings} = blockConnection(invocation, block)
  const chain = openChain([awsPlugin], ['aws'], () => inFrontOfCache(invocation, awsPlugin.cache, blockSettings, awsPlugin.open({connectSecretsManager: connect, settings: blockSettings})))
  const reference = {path: [], target: {kind: 'aws', name: block.secret_name, ...version}, text: `aws-sm://${block.secret_name}`}
  const resolutions = await resolveReferences([reference], chain)
  const failure = combinedFailure(resolutions)
  if (failure) throw failure
  return (resolutions[0] as Extract<Resolution, {ok: true}>).value
}

/** The invocation's settings and Secrets Manager client, with the block's credentials, region and endpoint. */
export function blockConnection(invocation: Invocation, block: AwsSecretBlock): {connect: ConnectSecretsManager; settings: Settings} {
  const credentials: AwsCredentialsBlock = block.aws_credentials ?? {}
  const {settings} = invocation
  const accessKeyId = present(credentials.aws_access_key_id)
  const secretAccessKey = present(credentials.aws_secret_access_key)
  const fromBlock: Partial<AwsConnection> = {
    credentials: accessKeyId && secretAccessKey ? {accessKeyId, secretAccessKey, sessionToken: present(credentials.aws_session_token)} : undefined,
    endpoint: present(credentials.aws_client_parameters?.endpoint_url),
    role: assumedRole(credentials, settings.awsRole),
  }
  const connect = async (connection: AwsConnection) => {
    const open = invocation.connectSecretsManager ?? (await import('./secrets-manager.js')).connectSecretsManager
    return open({...connection, ...fromBlock})
  }

  // What the block connects with, in the settings too: the cache keys its entries by the
  // endpoint, key id, profile, region and role these say (a block with another account's keys
  // must never be served what the ambient credentials read).
  const blockSettings = {
    ...settings,
    awsPrefix: '',
    awsProfile: present(credentials.profile_name) ?? settings.awsProfile,
    awsRegion: present(credentials.region_name) ?? settings.awsRegion,
    awsRole: fromBlock.role?.arn,
    awsRoleParams: fromBlock.role?.params,
    env: {
      ...settings.env,
      ...(fromBlock.credentials && {AWS_ACCESS_KEY_ID: fromBlock.credentials.accessKeyId}),
      ...(fromBlock.endpoint && {AWS_ENDPOINT_URL_SECRETS_MANAGER: fromBlock.endpoint}),
    },
  }
  return {connect, settings: blockSettings}
}
