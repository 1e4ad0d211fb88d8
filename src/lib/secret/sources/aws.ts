import type {SecretPayload, SecretsManagerApi} from '../../aws/secrets-manager.js'

import {connectFromSettings} from '../../aws/connection.js'
import {awsFailure, classifyAwsError, credentialsFailure} from '../../aws/errors.js'
import {ResolvedSettings} from '../../settings/settings.js'
import {failure, hit, LookupRequest, miss, Outcome, SecretSource} from '../source.js'

/** BatchGetSecretValue takes at most 20 ids per call. */
export const BATCH_SIZE = 20
/** GetSecretValue calls in flight at once when batching cannot be used. */
const GET_CONCURRENCY = 10

const isPinned = (request: LookupRequest) => Boolean(request.versionId || request.versionStage)

const outcomeOf = (payload: SecretPayload): Outcome =>
  hit(payload.value, {
    arn: payload.arn,
    name: payload.name,
    source: 'aws',
    versionId: payload.versionId,
    versionStages: payload.versionStages,
  })

export function awsSecretId(settings: Pick<ResolvedSettings, 'awsPrefix'>, request: LookupRequest): string {
  return request.direct ? request.name : settings.awsPrefix + request.name
}

/**
 * AWS Secrets Manager. Unpinned lookups are fetched with BatchGetSecretValue, 20 ids a call,
 * all calls in parallel; a lone id, a pinned version or a caller not allowed to batch use
 * GetSecretValue. Not configured at all (no region, no credentials) is a miss; anything else
 * that goes wrong is a failure.
 */
export function awsSource(settings: ResolvedSettings): SecretSource {
  let api: Promise<SecretsManagerApi> | undefined
  const context = {attempts: settings.awsMaxAttempts, region: settings.awsRegion}
  const open = connectFromSettings(settings)

  const notFound = (secretId: string, pin?: Pick<LookupRequest, 'versionId' | 'versionStage'>): Outcome => {
    const region = settings.awsRegion ? ` (${settings.awsRegion})` : ''
    // A pinned version that is missing usually means the secret exists without that stage or id.
    const version = pin?.versionId ? ` version ${pin.versionId}` : pin?.versionStage ? ` stage ${pin.versionStage}` : ''
    return version
      ? miss(
          `no${version} of secret ${JSON.stringify(secretId)} in AWS Secrets Manager${region}`,
          `aws secretsmanager describe-secret --secret-id ${secretId}  (lists its versions and stages)`,
        )
      : miss(
          `no secret ${JSON.stringify(secretId)} in AWS Secrets Manager${region}`,
          `aws secretsmanager create-secret --name ${secretId} --secret-string file://VALUE_FILE`,
        )
  }

  const getOne = async (sm: SecretsManagerApi, request: LookupRequest): Promise<Outcome> => {
    const secretId = awsSecretId(settings, request)
    try {
      return outcomeOf(await sm.get({secretId, versionId: request.versionId, versionStage: request.versionStage}))
    } catch (error) {
      return classifyAwsError(error) === 'not-found' ? notFound(secretId, request) : failure(awsFailure(error, secretId, context))
    }
  }

  const getEach = async (sm: SecretsManagerApi, requests: LookupRequest[]): Promise<Outcome[]> => {
    const outcomes: Outcome[] = Array.from({length: requests.length})
    let next = 0
    const worker = async () => {
      while (next < requests.length) {
        const index = next++
        // eslint-disable-next-line no-await-in-loop
        outcomes[index] = await getOne(sm, requests[index])
      }
    }

    await Promise.all(Array.from({length: Math.min(GET_CONCURRENCY, requests.length)}, worker))
    return outcomes
  }

  const batch = async (sm: SecretsManagerApi, ids: string[]): Promise<Map<string, Outcome>> => {
    const results = new Map<string, Outcome>()
    try {
      const {errors, values} = await sm.batchGet(ids)
      for (const value of values) {
        const id = ids.find((candidate) => candidate === value.name || candidate === value.arn)
        if (id) results.set(id, outcomeOf(value))
      }

      for (const entry of errors) {
        // An Errors[] entry is AWS's own answer, like a service exception ($fault).
        const error = Object.assign(new Error(entry.error.message ?? ''), {$fault: 'client', name: entry.error.name})
        results.set(
          entry.secretId,
          classifyAwsError(error) === 'not-found' ? notFound(entry.secretId) : failure(awsFailure(error, entry.secretId, context)),
        )
      }
    } catch (error) {
      // A caller allowed GetSecretValue but not BatchGetSecretValue still gets its secrets.
      if (classifyAwsError(error) !== 'denied') {
        for (const id of ids) results.set(id, failure(awsFailure(error, id, context)))
        return results
      }
    }

    // Ids the batch did not answer for (denied batch, partial ARNs) are fetched one by one.
    const rest = ids.filter((id) => !results.has(id))
    const singles = await getEach(sm, rest.map((name) => ({direct: true, name})))
    for (const [index, id] of rest.entries()) results.set(id, singles[index])
    return results
  }

  return {
    kind: 'aws',
    async lookup(requests) {
      api ??= open()
      const sm = await api
      const notConfigured = await sm.checkConfigured().catch((error: unknown) => {
        throw credentialsFailure(error, settings.awsProfile)
      })
      if (notConfigured) return requests.map(() => miss(`skipped: ${notConfigured}`))

      const pinned = requests.filter((request) => isPinned(request))
      const ids = [...new Set(requests.filter((request) => !isPinned(request)).map((request) => awsSecretId(settings, request)))]
      const byId = new Map<string, Outcome>()
      const chunks = Array.from({length: Math.ceil(ids.length / BATCH_SIZE)}, (_, i) => ids.slice(i * BATCH_SIZE, (i + 1) * BATCH_SIZE))
      const [pinnedOutcomes] = await Promise.all([
        getEach(sm, pinned),
        ...chunks.map(async (chunk) => {
          // One id costs one call either way, and GetSecretValue needs the narrower permission.
          const outcomes = chunk.length === 1 ? new Map([[chunk[0], await getOne(sm, {direct: true, name: chunk[0]})]]) : await batch(sm, chunk)
          for (const [id, outcome] of outcomes) byId.set(id, outcome)
        }),
      ])
      return requests.map((request) =>
        isPinned(request) ? pinnedOutcomes[pinned.indexOf(request)] : byId.get(awsSecretId(settings, request))!,
      )
    },
  }
}
