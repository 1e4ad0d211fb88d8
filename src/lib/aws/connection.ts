import type {ConnectSecretsManager} from '../secret/source.js'
import type {AwsSettings} from '../secret/sources/aws.js'
import type {SecretsManagerApi} from './secrets-manager.js'

import {warn} from '../output/warn.js'

/**
 * The aws block store's Secrets Manager connection, as the AWS settings describe it (region,
 * profile, role, timeouts, retries; one --aws-total-timeout deadline for the command). The SDK
 * loads on the first call, never before (README "Start-up time"); `connect` replaces it (tests,
 * a library caller's own client).
 */
export function connectFromSettings(settings: AwsSettings, connect?: ConnectSecretsManager): () => Promise<SecretsManagerApi> {
  return async () => {
    const {awsDeadline, connectSecretsManager: connectDefault} = await import('./secrets-manager.js')
    const connectSecretsManager = connect ?? connectDefault
    return connectSecretsManager({
      connectTimeoutMs: settings.awsConnectTimeoutMs,
      deadline: awsDeadline(settings.awsTotalTimeoutMs),
      maxAttempts: settings.awsMaxAttempts,
      onRetryableError({attempt, errorName, kind}) {
        const what = kind === 'throttled' ? 'is throttling requests' : kind === 'unreachable' ? 'did not answer' : 'failed'
        warn(`AWS Secrets Manager ${what} (${errorName}); retrying with backoff (attempt ${attempt} of ${settings.awsMaxAttempts} failed).`)
      },
      profile: settings.awsProfile,
      region: settings.awsRegion,
      requestTimeoutMs: settings.awsRequestTimeoutMs,
      retryMode: settings.awsRetryMode,
      role: settings.awsRole ? {arn: settings.awsRole} : undefined,
    })
  }
}
