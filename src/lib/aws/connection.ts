import type {SecretsManagerApi} from './secrets-manager.js'

import {warn} from '../output/warn.js'
import {ResolvedSettings} from '../settings/settings.js'

/**
 * A Secrets Manager connection as the settings describe it (region, profile, timeouts,
 * retries), for the chain's aws source and the aws block store alike. The SDK module loads on
 * the first call, never before.
 */
export function connectFromSettings(settings: ResolvedSettings): () => Promise<SecretsManagerApi> {
  return async () => {
    const {connectSecretsManager} = await import('./secrets-manager.js')
    return connectSecretsManager({
      connectTimeoutMs: settings.awsConnectTimeoutMs,
      maxAttempts: settings.awsMaxAttempts,
      onRetryableError({attempt, errorName, kind}) {
        const what = kind === 'throttled' ? 'is throttling requests' : kind === 'unreachable' ? 'did not answer' : 'failed'
        warn(`AWS Secrets Manager ${what} (${errorName}); retrying with backoff (attempt ${attempt} of ${settings.awsMaxAttempts} failed).`)
      },
      profile: settings.awsProfile,
      region: settings.awsRegion,
      requestTimeoutMs: settings.awsRequestTimeoutMs,
      retryMode: settings.awsRetryMode,
    })
  }
}
