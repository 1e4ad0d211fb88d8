import {Invocation} from '../invocation.js'
import {connectAws} from '../secret/sources/aws.js'
import {deleteAwsSecretById, putOrCreate} from '../secret/write/aws.js'
import {checkDeleteOptions} from '../secret/write/lifecycle.js'
import {AwsSecretBlock} from './block-types.js'
import {blockConnection} from './read-secret.js'

/** prefect-aws's default recovery window for AwsSecret.delete_secret. */
const PREFECT_RECOVERY_DAYS = 30

async function withBlockSession<T>(invocation: Invocation, block: AwsSecretBlock, task: (session: {attempts: number; region?: string; sm: Awaited<ReturnType<typeof connectAws>>}) => Promise<T>): Promise<T> {
  const {connect, settings} = blockConnection(invocation, block)
  const sm = await connectAws(settings, {connect})
  try {
    return await task({attempts: settings.awsMaxAttempts, region: settings.awsRegion, sm})
  } finally {
    sm.destroy()
  }
}

/**
 * Prefect's `AwsSecret.write_secret(data)`: a new version of the block's secret, or the secret
 * itself when it does not exist yet, with the block's own credentials. Bytes are stored as
 * SecretBinary (as Prefect always does), a string as SecretString. Returns the ARN.
 */
export async function writeAwsSecret(invocation: Invocation, block: AwsSecretBlock, data: string | Uint8Array): Promise<string> {
  const {arn} = await withBlockSession(invocation, block, (session) => putOrCreate(session, block.secret_name, data))
  await invocation.forgetCached([block.secret_name, arn])
  return arn
}

/**
 * Prefect's `AwsSecret.delete_secret(recovery_window_in_days=30, force_delete_without_recovery=False)`,
 * with its checks and messages: a window of 7 to 30 days, or a deletion without recovery.
 * Unlike Prefect, `{forceDeleteWithoutRecovery: true}` alone works (there it always meets the
 * default window and fails). Returns the ARN.
 */
export async function deleteAwsSecret(invocation: Invocation, block: AwsSecretBlock, options: {forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number} = {}): Promise<string> {
  const window = options.forceDeleteWithoutRecovery
    ? {forceDeleteWithoutRecovery: true, recoveryWindowInDays: options.recoveryWindowInDays}
    : {recoveryWindowInDays: options.recoveryWindowInDays ?? PREFECT_RECOVERY_DAYS}
  checkDeleteOptions(window)
  const {arn} = await withBlockSession(invocation, block, (session) => deleteAwsSecretById(session, block.secret_name, window))
  await invocation.forgetCached([block.secret_name, arn])
  return arn
}
