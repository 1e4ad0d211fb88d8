import type {SecretPayload, SecretsManagerApi} from '../../aws/secrets-manager.js'

import {awsFailure, classifyAwsError, credentialsFailure} from '../../aws/errors.js'
import {warn} from '../../output/warn.js'
import {SettingsBase} from '../../settings/settings.js'
import {integer, oneOf, SettingValues, text} from '../../settings/spec.js'
import {ConnectSecretsManager, defineSource, failure, hit, LookupRequest, miss, Outcome, SecretSource} from '../source.js'

const awsSettings = {
  awsConnectTimeoutMs: {
    configPath: ['aws', 'connectTimeoutMs'],
    default: 3000,
    description: 'Milliseconds to wait for a connection to AWS.',
    env: ['KEYFLOW_AWS_CONNECT_TIMEOUT_MS'],
    flag: 'aws-connect-timeout',
    helpGroup: 'AWS',
    parse: integer(1, 600_000),
  },
  awsMaxAttempts: {
    configPath: ['aws', 'maxAttempts'],
    default: 3,
    description: 'Attempts per AWS call, retries included, with backoff.',
    env: ['KEYFLOW_AWS_MAX_ATTEMPTS'],
    flag: 'aws-max-attempts',
    helpGroup: 'AWS',
    parse: integer(1, 20),
  },
  awsPrefix: {
    configPath: ['aws', 'prefix'],
    default: '',
    description: 'Prefix for AWS secret names looked up through the chain, e.g. prod/.',
    env: ['KEYFLOW_AWS_PREFIX'],
    flag: 'prefix',
    helpGroup: 'AWS',
    parse: text,
  },
  awsProfile: {
    configPath: ['aws', 'profile'],
    description: 'AWS profile from the shared config files.',
    env: ['KEYFLOW_AWS_PROFILE', 'AWS_PROFILE'],
    flag: 'profile',
    helpGroup: 'AWS',
    parse: text,
  },
  awsRegion: {
    configPath: ['aws', 'region'],
    description: 'AWS region of Secrets Manager.',
    env: ['KEYFLOW_AWS_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
    flag: 'region',
    helpGroup: 'AWS',
    parse: text,
  },
  awsRequestTimeoutMs: {
    configPath: ['aws', 'requestTimeoutMs'],
    default: 10_000,
    description: 'Milliseconds to wait for an AWS answer.',
    env: ['KEYFLOW_AWS_REQUEST_TIMEOUT_MS'],
    flag: 'aws-request-timeout',
    helpGroup: 'AWS',
    parse: integer(1, 600_000),
  },
  awsRetryMode: {
    configPath: ['aws', 'retryMode'],
    default: 'standard',
    description: 'The AWS SDK retry strategy.',
    env: ['KEYFLOW_AWS_RETRY_MODE'],
    flag: 'aws-retry-mode',
    helpGroup: 'AWS',
    parse: oneOf(['standard', 'adaptive'] as const),
  },
}

export type AwsSettings = SettingsBase & SettingValues<typeof awsSettings>

export type AwsProvenance = {arn: string; name: string; source: 'aws'; versionId?: string; versionStages?: string[]}

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

export function awsSecretId(settings: Pick<AwsSettings, 'awsPrefix'>, request: LookupRequest): string {
  return request.direct ? request.name : settings.awsPrefix + request.name
}

/** A Secrets Manager client with the invocation's AWS settings; the SDK loads here, on first need. */
export async function connectAws(settings: AwsSettings, connect?: ConnectSecretsManager): Promise<SecretsManagerApi> {
  // The SDK loads only when the chain reaches AWS (README "Start-up time").
  const connectSecretsManager = connect ?? (await import('../../aws/secrets-manager.js')).connectSecretsManager
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

/**
 * AWS Secrets Manager. Unpinned lookups are fetched with BatchGetSecretValue, 20 ids a call,
 * all calls in parallel; a lone id, a pinned version or a caller not allowed to batch use
 * GetSecretValue. Not configured at all (no region, no credentials) is a miss; anything else
 * that goes wrong is a failure.
 */
export function awsSource(settings: AwsSettings, connect?: ConnectSecretsManager): SecretSource {
  let api: Promise<SecretsManagerApi> | undefined
  const context = {attempts: settings.awsMaxAttempts, region: settings.awsRegion}
  const open = () => connectAws(settings, connect)

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

/** arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-6RANDOM -> NAME */
export function awsNameFromArn(arn: string): string {
  const name = arn.split(':').slice(6).join(':')
  return name.replace(/-[\dA-Za-z]{6}$/, '') || arn
}

const TRANSIENT_FAILURES = new Set(['AWS_SERVER', 'AWS_THROTTLED', 'AWS_UNREACHABLE'])

export const awsPlugin = defineSource<AwsProvenance, typeof awsSettings>({
  cache: {
    identity: (request, settings) => ({
      // The credentials' key id too: the same name in another account is another secret.
      scope: [
        'aws',
        settings.env.AWS_ENDPOINT_URL_SECRETS_MANAGER || settings.env.AWS_ENDPOINT_URL || '',
        settings.awsRegion ?? '',
        settings.awsProfile ?? '',
        settings.env.AWS_ACCESS_KEY_ID ?? '',
      ],
      secretId: awsSecretId(settings, request),
      versionId: request.versionId,
      versionStage: request.versionStage ?? (request.versionId ? undefined : 'AWSCURRENT'),
    }),
    lockWaitMs: (settings) => settings.awsConnectTimeoutMs + settings.awsRequestTimeoutMs,
    transient: (error) => TRANSIENT_FAILURES.has(error.code),
  },
  claims: (text) => text.startsWith('arn:'),
  defaultKey: (name) => (name.startsWith('arn:') ? awsNameFromArn(name) : name),
  describe(provenance) {
    const version = provenance.versionId ? ` version ${provenance.versionId}` : ''
    const stages = provenance.versionStages?.length ? ` (${provenance.versionStages.join(', ')})` : ''
    return `${provenance.arn}${version}${stages}`
  },
  kind: 'aws',
  open: ({connectSecretsManager, settings}) => awsSource(settings, connectSecretsManager),
  schemes: ['aws-sm', 'aws'],
  settings: awsSettings,
  versioned: true,
})
