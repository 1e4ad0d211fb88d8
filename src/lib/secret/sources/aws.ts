import type {SecretPayload, SecretsManagerApi} from '../../aws/secrets-manager.js'

import {arnRegion} from '../../aws/arn.js'
import {AwsCallError, awsFailure, AwsOperation, classifyAwsError, credentialsFailure} from '../../aws/errors.js'
import {warn} from '../../output/warn.js'
import {SettingsBase} from '../../settings/settings.js'
import {integer, oneOf, SettingValues, text} from '../../settings/spec.js'
import {ConnectSecretsManager, defineSource, failure, hit, ListedName, LookupRequest, miss, Outcome, SecretSource} from '../source.js'

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
    description: 'Milliseconds for each AWS attempt, the whole answer included.',
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
  awsRole: {
    configPath: ['aws', 'role'],
    description: 'An IAM role ARN to assume with STS for every Secrets Manager call.',
    env: ['KEYFLOW_AWS_ROLE', 'METAFLOW_DEFAULT_SECRETS_ROLE', 'METAFLOW_AWS_SECRETS_MANAGER_DEFAULT_ROLE'],
    flag: 'aws-role',
    helpGroup: 'AWS',
    parse: text,
  },
  awsTotalTimeoutMs: {
    configPath: ['aws', 'totalTimeoutMs'],
    default: 60_000,
    description: 'Milliseconds for all AWS work of one resolution, retries and backoff included.',
    env: ['KEYFLOW_AWS_TOTAL_TIMEOUT_MS'],
    flag: 'aws-total-timeout',
    helpGroup: 'AWS',
    parse: integer(1, 3_600_000),
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

/**
 * A Secrets Manager client for the settings (in `region`, by default the configured one), through
 * the invocation's `connect` when it injects one, under `deadline` (by default a new one of
 * --aws-total-timeout); it warns on stderr before each retry. The SDK loads only here (README
 * "Start-up time").
 */
export async function connectAws(settings: AwsSettings, options: {connect?: ConnectSecretsManager; deadline?: AbortSignal; region?: string} = {}): Promise<SecretsManagerApi> {
  const {awsDeadline, connectSecretsManager: connectDefault} = await import('../../aws/secrets-manager.js')
  const connectSecretsManager = options.connect ?? connectDefault
  const region = options.region ?? settings.awsRegion
  return connectSecretsManager({
    connectTimeoutMs: settings.awsConnectTimeoutMs,
    deadline: options.deadline ?? awsDeadline(settings.awsTotalTimeoutMs),
    maxAttempts: settings.awsMaxAttempts,
    onRetryableError({attempt, errorName, kind}) {
      const what = kind === 'throttled' ? 'is throttling requests' : kind === 'unreachable' ? 'did not answer' : 'failed'
      warn(`AWS Secrets Manager${region === settings.awsRegion ? '' : ` (${region})`} ${what} (${errorName}); retrying with backoff (attempt ${attempt} of ${settings.awsMaxAttempts} failed).`)
    },
    profile: settings.awsProfile,
    region,
    requestTimeoutMs: settings.awsRequestTimeoutMs,
    retryMode: settings.awsRetryMode,
    role: settings.awsRole ? {arn: settings.awsRole} : undefined,
  })
}

/**
 * AWS Secrets Manager. Unpinned lookups are fetched with BatchGetSecretValue, 20 ids a call,
 * all calls in parallel; a lone id, a pinned version or a caller not allowed to batch use
 * GetSecretValue. An ARN is asked in its own region (as Metaflow and the AWS CLI do), names in
 * the configured one: one client per region, every region at once. Not configured at all (no
 * region, no credentials) is a miss; anything else that goes wrong is a failure. All AWS work
 * of one resolution shares one deadline (--aws-total-timeout), from the first lookup on.
 */
export function awsSource(settings: AwsSettings, connect?: ConnectSecretsManager): SecretSource {
  const apis = new Map<string | undefined, Promise<SecretsManagerApi>>()
  let deadline: AbortSignal | undefined
  const open = async (region: string | undefined) => {
    const {awsDeadline} = await import('../../aws/secrets-manager.js')
    deadline ??= awsDeadline(settings.awsTotalTimeoutMs)
    return connectAws(settings, {connect, deadline, region})
  }

  const connection = (region: string | undefined) => {
    if (!apis.has(region)) apis.set(region, open(region))
    return apis.get(region)!
  }

  const regionOf = (secretId: string) => arnRegion(secretId) ?? settings.awsRegion

  const notFound = (secretId: string, pin?: Pick<LookupRequest, 'versionId' | 'versionStage'>): Outcome => {
    const region = regionOf(secretId)
    const where = `AWS Secrets Manager${region ? ` (${region})` : ''}`
    // A pinned version that is missing usually means the secret exists without that stage or id.
    const version = pin?.versionId ? ` version ${pin.versionId}` : pin?.versionStage ? ` stage ${pin.versionStage}` : ''
    if (version) {
      return miss(`no${version} of secret ${JSON.stringify(secretId)} in ${where}`, `aws secretsmanager describe-secret --secret-id ${secretId}  (lists its versions and stages)`)
    }

    // An ARN names one secret in one account and region: creating a secret cannot give it that ARN.
    return arnRegion(secretId)
      ? miss(`no secret with ARN ${JSON.stringify(secretId)} in ${where}`, `aws secretsmanager describe-secret --secret-id ${secretId} --region ${region}  (check the ARN, its account and its region)`)
      : miss(`no secret ${JSON.stringify(secretId)} in ${where}`, `aws secretsmanager create-secret --name ${secretId} --secret-string file://VALUE_FILE`)
  }

  const failed = (error: unknown, secretId: string, operation: AwsOperation): Outcome =>
    failure(awsFailure(error, secretId, {attempts: settings.awsMaxAttempts, operation, region: regionOf(secretId)}))

  const getOne = async (sm: SecretsManagerApi, request: LookupRequest): Promise<Outcome> => {
    const secretId = awsSecretId(settings, request)
    try {
      return outcomeOf(await sm.get({secretId, versionId: request.versionId, versionStage: request.versionStage}))
    } catch (error) {
      return classifyAwsError(error) === 'not-found' ? notFound(secretId, request) : failed(error, secretId, 'GetSecretValue')
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
        const error = entry.error instanceof AwsCallError ? entry.error : Object.assign(new Error(entry.error.message ?? ''), {$fault: 'client', name: entry.error.name})
        results.set(entry.secretId, classifyAwsError(error) === 'not-found' ? notFound(entry.secretId) : failed(error, entry.secretId, 'BatchGetSecretValue'))
      }
    } catch (error) {
      // A caller allowed GetSecretValue but not BatchGetSecretValue still gets its secrets.
      if (classifyAwsError(error) !== 'denied') {
        for (const id of ids) results.set(id, failed(error, id, 'BatchGetSecretValue'))
        return results
      }
    }

    // Ids the batch did not answer for (denied batch, partial ARNs) are fetched one by one.
    const rest = ids.filter((id) => !results.has(id))
    const singles = await getEach(sm, rest.map((name) => ({direct: true, name})))
    for (const [index, id] of rest.entries()) results.set(id, singles[index])
    return results
  }

  /** The lookups of one region, through that region's client. */
  const lookupIn = async (region: string | undefined, requests: LookupRequest[]): Promise<Outcome[]> => {
    const sm = await connection(region)
    const notConfigured = await sm.checkConfigured().catch((error: unknown) => {
      if (classifyAwsError(error) === 'deadline') return error
      throw credentialsFailure(error, settings.awsProfile, settings.awsRole)
    })
    if (notConfigured instanceof Error) return requests.map((request) => failed(notConfigured, awsSecretId(settings, request), 'credentials'))
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
  }

  return {
    kind: 'aws',
    /** The secrets under the prefix, by chain name, in the configured region: ListSecrets, 100 a page, each page after the last. */
    async list() {
      const sm = await connection(settings.awsRegion)
      const notConfigured = await sm.checkConfigured().catch((error: unknown) => {
        if (classifyAwsError(error) === 'deadline') throw awsFailure(error, settings.awsPrefix || '*', {attempts: settings.awsMaxAttempts, operation: 'credentials', region: settings.awsRegion})
        throw credentialsFailure(error, settings.awsProfile, settings.awsRole)
      })
      if (notConfigured) return {names: [], skipped: notConfigured}
      const names: ListedName[] = []
      let calls = 0
      let nextToken: string | undefined
      try {
        do {
          calls++
          // eslint-disable-next-line no-await-in-loop
          const page = await sm.listPage({namePrefix: settings.awsPrefix || undefined, nextToken})
          // AWS's name filter also matches words inside names; only true prefixes are the chain's.
          for (const secret of page.secrets.filter(({name}) => name.startsWith(settings.awsPrefix))) {
            names.push({
              lastChanged: secret.lastChangedDate?.toISOString(),
              name: secret.name.slice(settings.awsPrefix.length),
              stages: [...new Set(Object.values(secret.versionStages).flat())].sort(),
              where: secret.arn,
            })
          }

          nextToken = page.nextToken
        } while (nextToken)
      } catch (error) {
        throw awsFailure(error, settings.awsPrefix || '*', {attempts: settings.awsMaxAttempts, operation: 'ListSecrets', permissions: 'secretsmanager:ListSecrets', region: settings.awsRegion})
      }

      return {calls, detail: settings.awsPrefix ? `prefix ${settings.awsPrefix}` : undefined, names}
    },
    async lookup(requests) {
      const byRegion = new Map<string | undefined, LookupRequest[]>()
      for (const request of requests) {
        const region = regionOf(awsSecretId(settings, request))
        byRegion.set(region, [...(byRegion.get(region) ?? []), request])
      }

      const answered = await Promise.all([...byRegion].map(async ([region, group]) => ({group, outcomes: await lookupIn(region, group)})))
      const outcomes = new Map<LookupRequest, Outcome>()
      for (const {group, outcomes: groupOutcomes} of answered) for (const [index, request] of group.entries()) outcomes.set(request, groupOutcomes[index])
      return requests.map((request) => outcomes.get(request)!)
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
