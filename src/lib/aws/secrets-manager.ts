import type {SecretsManagerClient, SecretsManagerClientConfig} from '@aws-sdk/client-secrets-manager'

import {randomBytes} from 'node:crypto'
import {setMaxListeners} from 'node:events'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {noticeIfSlow} from '../output/progress.js'
import {AwsCallError, classifyAwsError, errorName, isRetryableKind} from './errors.js'

// Over 300 lines on purpose: this is the one place keyflow touches the AWS SDK. The client, its
// deadlines, the shared role sessions and every Secrets Manager call sit behind one small
// interface (SecretsManagerApi); split, the SDK's types and error shapes would spread over
// several files.

interface AwsPackages {
  '@aws-sdk/client-secrets-manager': typeof import('@aws-sdk/client-secrets-manager')
  '@aws-sdk/credential-providers': typeof import('@aws-sdk/credential-providers')
}

/**
 * The SDK's packages are CommonJS: require() loads them as they are, where import() would first
 * run Node's ESM lexer over every file of them to find their exports (tens of ms). Synchronous,
 * and the deadline cannot cut a require short, which only reads local files.
 */
const loadSdk = <Name extends keyof AwsPackages>(name: Name): AwsPackages[Name] => createRequire(import.meta.url)(name)

/**
 * The narrow slice of Secrets Manager keyflow uses, behind an interface so the SDK (about
 * +70 ms to import) loads only when the chain reaches AWS.
 */

export interface AwsConnection {
  connectTimeoutMs: number
  /** Static keys (an aws-credentials block's); otherwise the standard AWS credential chain. */
  credentials?: {accessKeyId: string; secretAccessKey: string; sessionToken?: string}
  /** Aborts every call made through this connection, retries and backoff included (see awsDeadline). */
  deadline: AbortSignal
  /** An endpoint URL (an aws-credentials block's); otherwise the SDK's, which honours AWS_ENDPOINT_URL*. */
  endpoint?: string
  maxAttempts: number
  /** Told when an attempt failed in a way the SDK will retry, e.g. throttling. */
  onRetryableError?: (info: {attempt: number; errorName: string; kind: string}) => void
  profile?: string
  region?: string
  /** Each attempt, from the request to the last byte of the answer. */
  requestTimeoutMs: number
  retryMode: 'adaptive' | 'standard'
  /**
   * A role to assume with STS AssumeRole, from the credentials above, before calling Secrets
   * Manager: its ARN and AssumeRole's other parameters (RoleSessionName, DurationSeconds,
   * ExternalId, Policy, ...), as Metaflow's `role` and prefect-aws's assume_role_arn/kwargs.
   */
  role?: {arn: string; params?: Record<string, unknown>}
  /** Sessions of `role` already assumed by this invocation's other connections (another region), reused. */
  roleSessions?: RoleSessions
}

type RoleCredentials = ReturnType<AwsPackages['@aws-sdk/credential-providers']['fromTemporaryCredentials']>

/**
 * The AssumeRole sessions of one invocation, by role, its parameters and the credentials that
 * assume it: a role used in several regions is assumed once. Keyed values only; the map holds
 * no credentials until a session is asked for.
 */
export type RoleSessions = Map<string, RoleCredentials>

/** The SDK's own margin: credentials that expire within 5 minutes are fetched anew. */
const SESSION_REFRESH_MS = 300_000

/**
 * One AssumeRole shared by every client that asks: the provider calls STS on each call, and
 * each SDK client memoises only for itself. Clients asking while it is under way share it (the
 * groups of one resolution ask together); one that failed is asked again by the next caller, so
 * a long --watch recovers from a passing STS outage.
 */
function sharedSession(assume: RoleCredentials): RoleCredentials {
  let session: ReturnType<RoleCredentials> | undefined
  let expiresAt = Number.POSITIVE_INFINITY
  return (properties) => {
    if (!session || expiresAt - Date.now() < SESSION_REFRESH_MS) {
      expiresAt = Number.POSITIVE_INFINITY
      const asked = assume(properties)
      session = asked
      asked.then(
        (credentials) => {
          expiresAt = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY
        },
        () => {
          if (session === asked) session = undefined
        },
      )
    }

    return session
  }
}

export interface SecretPayload {
  arn: string
  name: string
  value: string | Uint8Array
  versionId?: string
  versionStages?: string[]
}

export interface BatchResult {
  /** Per-secret errors: AWS's Errors[] entries, and entries that came without a value. */
  errors: Array<{error: AwsCallError | {message?: string; name: string}; secretId: string}>
  values: SecretPayload[]
}

export interface SecretMetadata {
  /**
   * The new version's id. AWS refuses a second version with the same token and other content
   * (ResourceExistsException): the aws block store derives it from the revision, which makes
   * each write a compare-and-swap.
   */
  clientRequestToken?: string
  description?: string
  kmsKeyId?: string
  tags?: Array<{key: string; value: string}>
}

export interface WrittenVersion {
  arn: string
  name: string
  versionId?: string
}

export interface ListedSecret {
  arn: string
  /** Set when the secret is scheduled for deletion. */
  deletedDate?: Date
  description?: string
  lastChangedDate?: Date
  name: string
  /** Version id -> its stages (AWSCURRENT, AWSPREVIOUS, ...). */
  versionStages: Record<string, string[]>
}

export interface SecretVersion {
  createdDate?: Date
  stages: string[]
  versionId: string
}

export interface SecretsManagerApi {
  batchGet(secretIds: string[]): Promise<BatchResult>
  /** undefined when usable; otherwise why not (no region, no credentials anywhere). */
  checkConfigured(): Promise<string | undefined>
  create(request: SecretMetadata & {name: string; value: string | Uint8Array}): Promise<WrittenVersion>
  /** Which provider of the credential chain answered (for keyflow doctor), when the SDK says. */
  credentialSource?(): Promise<string | undefined>
  delete(request: {forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number; secretId: string}): Promise<WrittenVersion & {deletionDate?: Date}>
  describe(secretId: string): Promise<ListedSecret>
  /** Closes the client's connections (a library caller's process may live on). */
  destroy(): void
  get(request: {secretId: string; versionId?: string; versionStage?: string}): Promise<SecretPayload>
  /** One ListSecrets page (at most 100 secrets), optionally only names starting with `namePrefix`. */
  listPage(request: {includePlannedDeletion?: boolean; namePrefix?: string; nextToken?: string}): Promise<{nextToken?: string; secrets: ListedSecret[]}>
  /** Every version, deprecated ones included, in the order AWS lists them. */
  listVersions(secretId: string): Promise<{arn: string; name: string; versions: SecretVersion[]}>
  /** UpdateSecretVersionStage: AWS refuses the move when `stage` is not on `from`, which makes it a compare-and-swap. */
  moveStage(request: {from?: string; secretId: string; stage: string; to?: string}): Promise<void>
  /** A new version; it becomes AWSCURRENT unless `stages` says otherwise. */
  put(request: {secretId: string; stages?: string[]; value: string | Uint8Array}): Promise<WrittenVersion>
  readonly region?: string
  restore(secretId: string): Promise<WrittenVersion>
  tag(secretId: string, tags: Array<{key: string; value: string}>): Promise<void>
  /** UpdateSecret: a new value with a new description or KMS key, for an existing secret. */
  update(request: Omit<SecretMetadata, 'tags'> & {secretId: string; value: string | Uint8Array}): Promise<WrittenVersion>
  /**
   * Which version holds each stage, for secrets named exactly `names`: ListSecrets with a name
   * filter, 10 names a call (the filter's limit), no values transferred. Names not listed are absent.
   */
  versionStages(names: string[]): Promise<Map<string, Record<string, string[]>>>
}

/** A ListSecrets name filter takes at most 10 values. */
const LIST_FILTER_VALUES = 10

function listed(entry: {ARN?: string; DeletedDate?: Date; Description?: string; LastChangedDate?: Date; Name?: string; VersionIdsToStages?: Record<string, string[]>}): ListedSecret {
  return {
    arn: entry.ARN ?? '',
    deletedDate: entry.DeletedDate,
    description: entry.Description,
    lastChangedDate: entry.LastChangedDate,
    name: entry.Name ?? '',
    versionStages: entry.VersionIdsToStages ?? {},
  }
}

const secretValue = (value: string | Uint8Array) => (typeof value === 'string' ? {SecretString: value} : {SecretBinary: value})
const written = (output: {ARN?: string; Name?: string; VersionId?: string}): WrittenVersion => ({arn: output.ARN ?? '', name: output.Name ?? '', versionId: output.VersionId})

interface SecretValueOutput {
  ARN?: string
  Name?: string
  SecretBinary?: Uint8Array
  SecretString?: string
  VersionId?: string
  VersionStages?: string[]
}

/** The payload, or, for an answer that holds neither SecretString nor SecretBinary, the error it is. */
function payload(output: SecretValueOutput): AwsCallError | SecretPayload {
  const value = output.SecretString ?? output.SecretBinary
  if (value === undefined) return new AwsCallError('EmptySecretValue', 'the answer has neither SecretString nor SecretBinary')
  return {
    arn: output.ARN ?? '',
    name: output.Name ?? '',
    value,
    versionId: output.VersionId,
    versionStages: output.VersionStages,
  }
}

/**
 * Whether anything would give the standard AWS chain credentials for the profile in use, short
 * of instance metadata: key or web-identity or container variables, or a section for the
 * profile in the shared credentials or config file.
 */
function awsCredentialSourceConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const variables = ['AWS_ACCESS_KEY_ID', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']
  if (variables.some((name) => env[name])) return true
  const profile = env.AWS_PROFILE || 'default'
  const sections: Array<[string, string[]]> = [
    [env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials'), [`[${profile}]`]],
    [env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'), profile === 'default' ? ['[default]', '[profile default]'] : [`[profile ${profile}]`]],
  ]
  return sections.some(([file, headers]) => {
    try {
      return readFileSync(file, 'utf8').split(/\r?\n/).some((line) => headers.includes(line.trim()))
    } catch {
      return false
    }
  })
}

type Middleware = Parameters<SecretsManagerClient['middlewareStack']['addRelativeTo']>[0]
type Next = (args: unknown) => Promise<{response?: {body?: unknown; statusCode?: number}}>

/**
 * The SDK's requestTimeout ends when the response headers arrive; the body is read later, by
 * the deserializer, with no limit, so an endpoint that sends headers and then stalls or drips
 * hangs the call. This sits between the deserializer and the HTTP handler and gives the body
 * what is left of the attempt's budget: past it, the body is destroyed with a timeout error,
 * which the SDK retries like any other.
 */
function bodyDeadline(requestTimeoutMs: number): Middleware {
  return ((next: Next) => async (args: unknown) => {
    const started = Date.now()
    const result = await next(args)
    const body = result.response?.body
    if (body instanceof Readable && !body.readableEnded) {
      const status = result.response?.statusCode
      const timer = setTimeout(() => {
        body.destroy(
          // $metadata is set so the deserializer keeps the message as it is.
          new AwsCallError('TimeoutError', `the answer's body was not complete within the ${requestTimeoutMs} ms request timeout (--aws-request-timeout)`, {
            code: 'ETIMEDOUT',
            status,
          }),
        )
      }, Math.max(0, requestTimeoutMs - (Date.now() - started)))
      body.once('close', () => clearTimeout(timer))
    }

    return result
  }) as unknown as Middleware
}

/**
 * Rejects with the deadline's error as soon as it passes, whatever `work` is waiting for: the
 * abort signal stops the SDK's sockets and backoff, but the credential chain does not listen to it.
 */
async function withinDeadline<T>(deadline: AbortSignal, work: () => Promise<T>): Promise<T> {
  deadline.throwIfAborted()
  let stopListening: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(deadline.reason)
    deadline.addEventListener('abort', onAbort, {once: true})
    stopListening = () => deadline.removeEventListener('abort', onAbort)
  })
  try {
    return await Promise.race([work(), aborted])
  } catch (error) {
    throw deadline.aborted ? deadline.reason : error
  } finally {
    stopListening?.()
  }
}

type Handler = SecretsManagerClient['config']['requestHandler']
type HttpHandler = ReturnType<Parameters<NonNullable<SecretsManagerClientConfig['extensions']>[number]['configure']>[0]['httpHandler']>

/** `handler` with every request bound to `deadline`: its socket is destroyed when the deadline passes. */
function boundToDeadline(handler: HttpHandler, deadline: AbortSignal): HttpHandler {
  return {
    destroy: () => handler.destroy?.(),
    handle: async (request, options) => handler.handle(request, {...options, abortSignal: deadline}),
    httpHandlerConfigs: () => handler.httpHandlerConfigs(),
    metadata: handler.metadata,
    updateHttpClientConfig: (key, value) => handler.updateHttpClientConfig(key, value),
  }
}

/**
 * The key of the smithy context in each call's handler context (@smithy/types' SMITHY_CONTEXT_KEY),
 * where a send's abortSignal goes: the retry loop's backoff listens to it there.
 */
const SMITHY_CONTEXT_KEY = '__smithy_context'

/** Puts `deadline` where a send's abortSignal goes, just before the retry loop reads it: a backoff between attempts ends when it passes. */
function contextDeadline(deadline: AbortSignal): Middleware {
  return ((next: Next, context: Record<string, Record<string, unknown> | undefined>) => async (args: unknown) => {
    ;(context[SMITHY_CONTEXT_KEY] ??= {}).abortSignal = deadline
    return next(args)
  }) as unknown as Middleware
}

/**
 * The deadline over a whole resolution: every connection given this signal stops when
 * totalTimeoutMs has passed, whatever its calls are doing (waiting, reading, backing off).
 */
export function awsDeadline(totalTimeoutMs: number): AbortSignal {
  const controller = new AbortController()
  // Every call in flight listens to it, and so do the SDK's socket and backoff: 25 batches of a
  // 500-name run pass Node's default of 10 listeners, whose leak warning would reach stderr.
  setMaxListeners(0, controller.signal)
  // Unref'd: a resolution that finished early does not wait for it.
  setTimeout(() => {
    controller.abort(new AwsCallError('KeyflowAwsDeadline', `all AWS calls must finish within ${totalTimeoutMs} ms (--aws-total-timeout)`))
  }, totalTimeoutMs).unref()
  return controller.signal
}

export async function connectSecretsManager(connection: AwsConnection): Promise<SecretsManagerApi> {
  const {deadline} = connection
  deadline.throwIfAborted()
  const sdk = loadSdk('@aws-sdk/client-secrets-manager')
  // Without static keys the client's own default chain is the standard AWS chain (for
  // `profile` too); only a role needs the providers package, for its master credentials.
  const providers = connection.role ? loadSdk('@aws-sdk/credential-providers') : undefined
  // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and
  // goes on waiting, so a stalled endpoint would hang keyflow for good.
  const requestHandler = {
    connectionTimeout: connection.connectTimeoutMs,
    requestTimeout: connection.requestTimeoutMs,
    throwOnRequestTimeout: true,
  }
  // The STS client behind a role is built by the credential provider, and its AssumeRole call
  // takes no abort signal: its requests go through this client's HTTP handler, which binds them
  // to the deadline, so a stalled STS stops with everything else instead of keeping keyflow alive.
  const throughClientHandler = () => ({
    handle: (async (request, options) => client.config.requestHandler.handle(request, options)) as Handler['handle'],
  })
  const assumedRole = (): RoleCredentials => {
    const role = connection.role!
    const key = JSON.stringify([role.arn, role.params ?? {}, connection.profile ?? '', connection.credentials?.accessKeyId ?? '', connection.endpoint ?? ''])
    const known = connection.roleSessions?.get(key)
    if (known) return known
    const session = sharedSession(
      providers!.fromTemporaryCredentials({
        clientConfig: {maxAttempts: connection.maxAttempts, region: connection.region, requestHandler: throughClientHandler()},
        masterCredentials: connection.credentials ?? providers!.fromNodeProviderChain(connection.profile ? {profile: connection.profile} : {}),
        // A session name like prefect-aws's (prefect-session-<8 hex>), overridable by the params.
        params: {RoleSessionName: `keyflow-${randomBytes(4).toString('hex')}`, ...role.params, RoleArn: role.arn},
      }),
    )
    connection.roleSessions?.set(key, session)
    return session
  }

  const client: SecretsManagerClient = withQuietNodeWarning(
    () =>
      new sdk.SecretsManagerClient({
        // Each command's middleware is put together once for this client, not at every call (25
        // batches of a 500-name run did it 25 times). A send given options skips that cache, so
        // the deadline reaches each call through the HTTP handler (the socket) and the call's
        // context (the retry backoff) instead of send's abortSignal.
        cacheMiddleware: true,
        credentials: providers ? assumedRole() : connection.credentials,
        ...(connection.endpoint ? {endpoint: connection.endpoint} : {}),
        extensions: [{configure: (config) => config.setHttpHandler(boundToDeadline(config.httpHandler(), deadline))}],
        maxAttempts: connection.maxAttempts,
        region: connection.region,
        requestHandler,
        retryMode: connection.retryMode,
        ...(connection.profile ? {profile: connection.profile} : {}),
      }),
  )
  client.middlewareStack.addRelativeTo(contextDeadline(deadline), {name: 'keyflowContextDeadline', relation: 'before', toMiddleware: 'retryMiddleware'})
  client.middlewareStack.addRelativeTo(bodyDeadline(connection.requestTimeoutMs), {
    name: 'keyflowBodyDeadline',
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
  })

  if (connection.onRetryableError) {
    const notify = connection.onRetryableError
    // Sits inside the retry loop, so it sees each attempt's error before the SDK retries it.
    // The retry strategy numbers each request's attempts in the amz-sdk-request header; the
    // last attempt's error is not retried, so it gets no notice, nor is an attempt the
    // deadline cut short.
    type NoticeNext = (args: unknown) => Promise<unknown>
    client.middlewareStack.addRelativeTo(
      ((next: NoticeNext) => async (args: {request?: {headers?: Record<string, string>}}) => {
        try {
          return await next(args)
        } catch (error) {
          const kind = classifyAwsError(error)
          const [, attempt, max] = /attempt=(\d+); max=(\d+)/.exec(args.request?.headers?.['amz-sdk-request'] ?? '') ?? []
          if (isRetryableKind(kind) && Number(attempt) < Number(max) && !deadline.aborted) {
            notify({attempt: Number(attempt), errorName: errorName(error), kind})
          }

          throw error
        }
      }) as unknown as Middleware,
      {name: 'keyflowRetryNotice', relation: 'after', toMiddleware: 'retryMiddleware'},
    )
  }

  const waiting = () => `Waiting for AWS Secrets Manager${connection.region ? ` (${connection.region})` : ''}...`
  // Every call shares the deadline, and a person at a terminal is told when one keeps them waiting.
  const call = <T>(work: () => Promise<T>) => noticeIfSlow(withinDeadline(deadline, work), waiting)

  let configured: Promise<string | undefined> | undefined
  return {
    async batchGet(secretIds) {
      const output = await call(async () => client.send(new sdk.BatchGetSecretValueCommand({SecretIdList: secretIds})))
      const result: BatchResult = {
        errors: (output.Errors ?? []).map((entry) => ({
          error: {message: entry.Message, name: entry.ErrorCode ?? 'Error'},
          secretId: entry.SecretId ?? '',
        })),
        values: [],
      }
      for (const entry of output.SecretValues ?? []) {
        const value = payload(entry)
        const asked = secretIds.find((id) => id === entry.Name || id === entry.ARN) ?? entry.Name ?? ''
        if (value instanceof AwsCallError) result.errors.push({error: value, secretId: asked})
        else result.values.push(value)
      }

      return result
    },
    checkConfigured() {
      configured ??= call(async () => {
        try {
          await client.config.region()
        } catch {
          return 'no AWS region is configured (set --region, AWS_REGION, or aws.region in keyflow.json)'
        }

        try {
          await client.config.credentials()
        } catch (error) {
          // Only a machine with no AWS set-up at all is "not configured". A chain that is set up
          // but fails (an expired SSO session, a failing credential_process, a broken role chain)
          // is a failure, never a quiet miss that lets another source answer instead.
          if (connection.profile || connection.credentials || connection.role || errorName(error) !== 'CredentialsProviderError' || awsCredentialSourceConfigured()) throw error
          return 'no AWS credentials were found (env, shared config/credentials files, SSO, process, web identity, container or instance metadata)'
        }

      })
      return configured
    },
    async create({clientRequestToken, description, kmsKeyId, name, tags, value}) {
      return written(
        await withinDeadline(deadline, async () => client.send(
          new sdk.CreateSecretCommand({
            ClientRequestToken: clientRequestToken,
            Description: description,
            KmsKeyId: kmsKeyId,
            Name: name,
            Tags: tags?.map(({key, value: tagValue}) => ({Key: key, Value: tagValue})),
            ...secretValue(value),
          }))),
      )
    },
    async credentialSource() {
      const credentials = (await client.config.credentials()) as {$source?: Record<string, string>}
      return describeCredentialSource(connection.credentials ? undefined : Object.keys(credentials.$source ?? {}))
    },
    async delete({forceDeleteWithoutRecovery, recoveryWindowInDays, secretId}) {
      const output = await withinDeadline(deadline, async () => client.send(
        new sdk.DeleteSecretCommand({ForceDeleteWithoutRecovery: forceDeleteWithoutRecovery, RecoveryWindowInDays: recoveryWindowInDays, SecretId: secretId})))
      return {...written(output), deletionDate: output.DeletionDate}
    },
    async describe(secretId) {
      return listed(await withinDeadline(deadline, async () => client.send(new sdk.DescribeSecretCommand({SecretId: secretId}))))
    },
    destroy() {
      client.destroy()
    },
    async get({secretId, versionId, versionStage}) {
      const command = new sdk.GetSecretValueCommand({SecretId: secretId, VersionId: versionId, VersionStage: versionStage})
      const value = payload(await call(async () => client.send(command)))
      if (value instanceof AwsCallError) throw value
      return value
    },
    async listPage({includePlannedDeletion, namePrefix, nextToken}) {
      const output = await withinDeadline(deadline, async () => client.send(
        new sdk.ListSecretsCommand({
          Filters: namePrefix ? [{Key: 'name', Values: [namePrefix]}] : undefined,
          IncludePlannedDeletion: includePlannedDeletion,
          MaxResults: 100,
          NextToken: nextToken,
        })))
      return {
        // moto answers an empty string on the last page.
        nextToken: output.NextToken || undefined,
        secrets: (output.SecretList ?? []).map((entry) => listed({...entry, VersionIdsToStages: entry.SecretVersionsToStages})),
      }
    },
    async listVersions(secretId) {
      const versions: SecretVersion[] = []
      let arn = ''
      let name = ''
      let nextToken: string | undefined
      do {
        // eslint-disable-next-line no-await-in-loop
        const output = await withinDeadline(deadline, async () => client.send(new sdk.ListSecretVersionIdsCommand({IncludeDeprecated: true, MaxResults: 100, NextToken: nextToken, SecretId: secretId})))
        arn = output.ARN ?? arn
        name = output.Name ?? name
        for (const version of output.Versions ?? []) {
          versions.push({createdDate: version.CreatedDate, stages: version.VersionStages ?? [], versionId: version.VersionId ?? ''})
        }

        nextToken = output.NextToken || undefined
      } while (nextToken)

      return {arn, name, versions}
    },
    async moveStage({from, secretId, stage, to}) {
      await withinDeadline(deadline, async () => client.send(new sdk.UpdateSecretVersionStageCommand({MoveToVersionId: to, RemoveFromVersionId: from, SecretId: secretId, VersionStage: stage})))
    },
    async put({secretId, stages, value}) {
      return written(await withinDeadline(deadline, async () => client.send(new sdk.PutSecretValueCommand({SecretId: secretId, VersionStages: stages, ...secretValue(value)}))))
    },
    get region() {
      return connection.region
    },
    async restore(secretId) {
      return written(await withinDeadline(deadline, async () => client.send(new sdk.RestoreSecretCommand({SecretId: secretId}))))
    },
    async tag(secretId, tags) {
      await withinDeadline(deadline, async () => client.send(new sdk.TagResourceCommand({SecretId: secretId, Tags: tags.map(({key, value}) => ({Key: key, Value: value}))})))
    },
    async update({clientRequestToken, description, kmsKeyId, secretId, value}) {
      return written(await withinDeadline(deadline, async () => client.send(new sdk.UpdateSecretCommand({ClientRequestToken: clientRequestToken, Description: description, KmsKeyId: kmsKeyId, SecretId: secretId, ...secretValue(value)}))))
    },
    async versionStages(names) {
      const stages = new Map<string, Record<string, string[]>>()
      for (let start = 0; start < names.length; start += LIST_FILTER_VALUES) {
        const chunk = names.slice(start, start + LIST_FILTER_VALUES)
        let token: string | undefined
        do {
          // The name filter matches prefixes: only exact names are kept.
          // eslint-disable-next-line no-await-in-loop
          const page = await withinDeadline(deadline, async () => client.send(new sdk.ListSecretsCommand({Filters: [{Key: 'name', Values: chunk}], NextToken: token})))
          for (const secret of page.SecretList ?? []) {
            if (secret.Name && chunk.includes(secret.Name)) stages.set(secret.Name, secret.SecretVersionsToStages ?? {})
          }

          token = page.NextToken
        } while (token)
      }

      return stages
    },
  }
}

/** The SDK's credential feature ids (`$source` on resolved credentials) as people name the providers. */
function describeCredentialSource(features: string[] | undefined): string {
  if (!features) return 'static keys (an aws-credentials block)'
  const names: Array<[string, string]> = [
    ['CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN', 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)'],
    ['CREDENTIALS_PROFILE_SSO', 'SSO (profile)'],
    ['CREDENTIALS_SSO', 'SSO'],
    ['CREDENTIALS_PROFILE_PROCESS', 'credential_process (profile)'],
    ['CREDENTIALS_PROCESS', 'credential_process'],
    ['CREDENTIALS_PROFILE_SOURCE_PROFILE', 'assumed role (profile source_profile)'],
    ['CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN', 'web identity token (profile)'],
    ['CREDENTIALS_PROFILE', 'shared config/credentials files (profile)'],
    ['CREDENTIALS_ENV_VARS', 'environment variables (AWS_ACCESS_KEY_ID)'],
    ['CREDENTIALS_HTTP', 'container metadata (ECS/EKS)'],
    ['CREDENTIALS_IMDS', 'instance metadata (EC2)'],
  ]
  return names.find(([id]) => features.includes(id))?.[1] ?? (features.length > 0 ? features.join(', ') : 'the default credential chain')
}

/**
 * On Node 20 every AWS SDK client prints a NodeVersionSupportWarning about future releases;
 * keyflow pins its SDK, so the warning is noise on a stderr that scripts read. The variable is
 * set only while the client is built, so children of `keyflow run` never see it.
 */
function withQuietNodeWarning<T>(build: () => T): T {
  const variable = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'
  const previous = process.env[variable]
  process.env[variable] = 'true'
  try {
    return build()
  } finally {
    if (previous === undefined) delete process.env[variable]
    else process.env[variable] = previous
  }
}
