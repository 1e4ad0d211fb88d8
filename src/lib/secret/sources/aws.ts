import type {RoleSessions, SecretPayload, SecretsManagerApi} from '../../aws/secrets-manager.js'

import {arnRegion, ROLE_ARN, ROLE_ARN_EXAMPLE} from '../../aws/arn.js'
import {AwsCallError, awsFailure, AwsOperation, classifyAwsError, credentialsFailure} from '../../aws/errors.js'
import {warn} from '../../output/warn.js'
import {SettingsBase} from '../../settings/settings.js'
import {integer, matching, oneOf, SettingValues, text} from '../../settings/spec.js'
import {ConnectSecretsManager, defineSource, failure, hit, ListedName, LookupRequest, miss, Outcome, SecretSource} from '../source.js'

// Over 300 lines on purpose: one source plug-in, which by design (docs/architecture.md "How a
// source plugs in") is one file: its settings (a third of it), its grouped and batched lookup,
// its listing and its cache policy.

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
    description: 'An IAM role ARN to assume with STS for every Secrets Manager call (a run source may name its own).',
    env: ['KEYFLOW_AWS_ROLE', 'METAFLOW_DEFAULT_SECRETS_ROLE', 'METAFLOW_AWS_SECRETS_MANAGER_DEFAULT_ROLE'],
    flag: 'aws-role',
    helpGroup: 'AWS',
    parse: matching(ROLE_ARN, 'an IAM role ARN', ROLE_ARN_EXAMPLE),
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

export type AwsSettings = SettingsBase &
  SettingValues<typeof awsSettings> & {
    /**
     * Not a setting: AssumeRole's other parameters (Policy, Tags, ExternalId...) when an
     * aws-credentials block gives them (assume_role_kwargs, aws/read-secret.ts). They narrow or
     * change what the session may read, so the cache keys entries by them too.
     */
    awsRoleParams?: Record<string, unknown>
  }

/**
 * Environment variables that choose the credentials without a key id in the environment (a web
 * identity role, a container's credentials endpoint, other credential files): two processes that
 * differ in them may be two principals, so cache entries are keyed by them.
 */
const CREDENTIAL_SOURCE_VARIABLES = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
] as const

/** What else says whose credentials a request is asked with, for the cache's key: empty when nothing does. */
function principalScope(settings: AwsSettings): string[] {
  const sources = CREDENTIAL_SOURCE_VARIABLES.filter((name) => settings.env[name]).map((name) => `${name}=${settings.env[name]}`)
  const params = settings.awsRoleParams && Object.keys(settings.awsRoleParams).length > 0 ? [`assume-role-params=${canonicalJson(settings.awsRoleParams)}`] : []
  return [...sources, ...params]
}

/** JSON with every object's keys sorted, so equal parameters give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }

  return JSON.stringify(value) ?? 'null'
}

/** `role`: the role it was read as, when one was assumed. */
export type AwsProvenance = {arn: string; name: string; role?: string; source: 'aws'; versionId?: string; versionStages?: string[]}

/** BatchGetSecretValue takes at most 20 ids per call. */
export const BATCH_SIZE = 20
/** GetSecretValue calls in flight at once when batching cannot be used. */
const GET_CONCURRENCY = 10

const isPinned = (request: LookupRequest) => Boolean(request.versionId || request.versionStage)

const outcomeOf = (payload: SecretPayload, role: string | undefined): Outcome =>
  hit(payload.value, {
    arn: payload.arn,
    name: payload.name,
    role,
    source: 'aws',
    versionId: payload.versionId,
    versionStages: payload.versionStages,
  })

export function awsSecretId(settings: Pick<AwsSettings, 'awsPrefix'>, request: LookupRequest): string {
  return request.direct ? request.name : settings.awsPrefix + request.name
}

/**
 * A Secrets Manager client for the settings (in `region`, as `role`: by default the configured
 * ones), through the invocation's `connect` when it injects one, under `deadline` (by default a
 * new one of --aws-total-timeout); it warns on stderr before each retry. `roleSessions` shares
 * each role's AssumeRole between the clients of one invocation. The SDK loads only here (README
 * "Start-up time").
 */
export async function connectAws(
  settings: AwsSettings,
  options: {connect?: ConnectSecretsManager; deadline?: AbortSignal; region?: string; role?: string; roleSessions?: RoleSessions} = {},
): Promise<SecretsManagerApi> {
  const {awsDeadline, connectSecretsManager: connectDefault} = await import('../../aws/secrets-manager.js')
  const connectSecretsManager = options.connect ?? connectDefault
  const region = options.region ?? settings.awsRegion
  const role = options.role ?? settings.awsRole
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
    role: role ? {arn: role} : undefined,
    roleSessions: options.roleSessions,
  })
}

/** Where a request is asked: an ARN's own region, else the request's (a source's options.region), else the configured one. */
export const awsRegionOf = (settings: AwsSettings, request: LookupRequest): string | undefined => arnRegion(awsSecretId(settings, request)) ?? request.region ?? settings.awsRegion

/** The role a request is asked as: its own (a source's role), else the configured one (--aws-role, Metaflow's default role). */
export const awsRoleOf = (settings: AwsSettings, request: LookupRequest): string | undefined => request.role ?? settings.awsRole

/** Requests asked through one client: the same region and role. */
interface Placement {
  region?: string
  role?: string
}

const placementKey = ({region, role}: Placement) => JSON.stringify([region ?? null, role ?? null])

/**
 * AWS Secrets Manager. Unpinned lookups are fetched with BatchGetSecretValue, 20 ids a call,
 * all calls in parallel; a lone id, a pinned version or a caller not allowed to batch use
 * GetSecretValue. Requests are grouped by where they are asked (awsRegionOf: an ARN in its own
 * region, as Metaflow and the AWS CLI do) and as whom (awsRoleOf): one client per group, every
 * group at once, each role assumed once. Not configured at all (no region, no credentials) is a
 * miss; anything else that goes wrong is a failure of that group's requests. All AWS work of one
 * resolution shares one deadline (--aws-total-timeout), from the first lookup on.
 */
export function awsSource(settings: AwsSettings, connect?: ConnectSecretsManager): SecretSource {
  const apis = new Map<string, Promise<SecretsManagerApi>>()
  const roleSessions: RoleSessions = new Map()
  let deadline: AbortSignal | undefined
  const open = async ({region, role}: Placement) => {
    const {awsDeadline} = await import('../../aws/secrets-manager.js')
    deadline ??= awsDeadline(settings.awsTotalTimeoutMs)
    return connectAws(settings, {connect, deadline, region, role, roleSessions})
  }

  const connection = (placement: Placement) => {
    const key = placementKey(placement)
    if (!apis.has(key)) apis.set(key, open(placement))
    return apis.get(key)!
  }

  const notFound = ({region, role}: Placement, secretId: string, pin?: Pick<LookupRequest, 'versionId' | 'versionStage'>): Outcome => {
    const where = `AWS Secrets Manager${region ? ` (${region})` : ''}${role ? ` as role ${role}` : ''}`
    // A pinned version that is missing usually means the secret exists without that stage or id.
    const version = pin?.versionId ? ` version ${pin.versionId}` : pin?.versionStage ? ` stage ${pin.versionStage}` : ''
    if (version) {
      return miss(`no${version} of secret ${JSON.stringify(secretId)} in ${where}`, `aws secretsmanager describe-secret --secret-id ${secretId}  (lists its versions and stages)`)
    }

    // An ARN names one secret in one account and region: creating a secret cannot give it that ARN.
    return arnRegion(secretId)
      ? miss(`no secret with ARN ${JSON.stringify(secretId)} in ${where}`, `aws secretsmanager describe-secret --secret-id ${secretId} --region ${region}  (check the ARN, its account and its region)`)
      : miss(`no secret ${JSON.stringify(secretId)} in ${where}`, `aws secretsmanager create-secret --name ${secretId} --secret-string file://VALUE_FILE${region === settings.awsRegion ? '' : ` --region ${region}`}`)
  }

  /** The lookups of one region and role, through that group's client. */
  const lookupIn = async (placement: Placement, requests: LookupRequest[]): Promise<Outcome[]> => {
    const {region, role} = placement
    const failed = (error: unknown, secretId: string, operation: AwsOperation): Outcome =>
      failure(awsFailure(error, secretId, {attempts: settings.awsMaxAttempts, operation, region, role}))

    const getOne = async (sm: SecretsManagerApi, request: LookupRequest): Promise<Outcome> => {
      const secretId = awsSecretId(settings, request)
      try {
        return outcomeOf(await sm.get({secretId, versionId: request.versionId, versionStage: request.versionStage}), role)
      } catch (error) {
        return classifyAwsError(error) === 'not-found' ? notFound(placement, secretId, request) : failed(error, secretId, 'GetSecretValue')
      }
    }

    const getEach = async (sm: SecretsManagerApi, each: LookupRequest[]): Promise<Outcome[]> => {
      const outcomes: Outcome[] = Array.from({length: each.length})
      let next = 0
      const worker = async () => {
        while (next < each.length) {
          const index = next++
          // eslint-disable-next-line no-await-in-loop
          outcomes[index] = await getOne(sm, each[index])
        }
      }

      await Promise.all(Array.from({length: Math.min(GET_CONCURRENCY, each.length)}, worker))
      return outcomes
    }

    const batch = async (sm: SecretsManagerApi, ids: string[]): Promise<Map<string, Outcome>> => {
      const results = new Map<string, Outcome>()
      try {
        const {errors, values} = await sm.batchGet(ids)
        for (const value of values) {
          const id = ids.find((candidate) => candidate === value.name || candidate === value.arn)
          if (id) results.set(id, outcomeOf(value, role))
        }

        for (const entry of errors) {
          // An Errors[] entry is AWS's own answer, like a service exception ($fault).
          const error = entry.error instanceof AwsCallError ? entry.error : Object.assign(new Error(entry.error.message ?? ''), {$fault: 'client', name: entry.error.name})
          results.set(entry.secretId, classifyAwsError(error) === 'not-found' ? notFound(placement, entry.secretId) : failed(error, entry.secretId, 'BatchGetSecretValue'))
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

    const sm = await connection(placement)
    let notConfigured: string | undefined
    try {
      notConfigured = await sm.checkConfigured()
    } catch (error) {
      // Only this group's requests fail: another role or region may still answer its own.
      const deadlinePassed = classifyAwsError(error) === 'deadline'
      return requests.map((request) => (deadlinePassed ? failed(error, awsSecretId(settings, request), 'credentials') : failure(credentialsFailure(error, settings.awsProfile, role))))
    }

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
    const byPinnedRequest = new Map(pinned.map((request, index) => [request, pinnedOutcomes[index]]))
    return requests.map((request) => byPinnedRequest.get(request) ?? byId.get(awsSecretId(settings, request))!)
  }

  return {
    kind: 'aws',
    /** The secrets under the prefix, by chain name, in the configured region: ListSecrets, 100 a page, each page after the last. */
    async list() {
      const sm = await connection({region: settings.awsRegion, role: settings.awsRole})
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
      const groups = new Map<string, {placement: Placement; requests: LookupRequest[]}>()
      for (const request of requests) {
        const placement = {region: awsRegionOf(settings, request), role: awsRoleOf(settings, request)}
        const key = placementKey(placement)
        const group = groups.get(key)
        if (group) group.requests.push(request)
        else groups.set(key, {placement, requests: [request]})
      }

      const answered = await Promise.all([...groups.values()].map(async ({placement, requests: group}) => ({group, outcomes: await lookupIn(placement, group)})))
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
      // The credentials' key id and the role too: the same name in another account is another secret.
      scope: [
        'aws',
        settings.env.AWS_ENDPOINT_URL_SECRETS_MANAGER || settings.env.AWS_ENDPOINT_URL || '',
        request.region ?? settings.awsRegion ?? '',
        settings.awsProfile ?? '',
        settings.env.AWS_ACCESS_KEY_ID ?? '',
        // Appended only with a role, so entries cached without one keep their identity.
        ...(awsRoleOf(settings, request) ? [awsRoleOf(settings, request)!] : []),
        // Likewise only when something else chooses the principal.
        ...principalScope(settings),
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
    return `${provenance.arn}${version}${stages}${provenance.role ? ` as role ${provenance.role}` : ''}`
  },
  kind: 'aws',
  open: ({connectSecretsManager, settings}) => awsSource(settings, connectSecretsManager),
  regionsAndRoles: true,
  schemes: ['aws-sm', 'aws'],
  settings: awsSettings,
  versioned: true,
})
