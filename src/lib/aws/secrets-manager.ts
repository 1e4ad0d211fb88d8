import type {SecretsManagerClient} from '@aws-sdk/client-secrets-manager'

import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {classifyAwsError, errorName, isRetryableKind} from './errors.js'

/**
 * The narrow slice of Secrets Manager keyflow uses, behind an interface so the SDK (about
 * +70 ms to import) loads only when the chain reaches AWS.
 */

export interface AwsConnection {
  connectTimeoutMs: number
  /** Static keys (an aws-credentials block's); otherwise the standard AWS credential chain. */
  credentials?: {accessKeyId: string; secretAccessKey: string; sessionToken?: string}
  /** An endpoint URL (an aws-credentials block's); otherwise the SDK's, which honours AWS_ENDPOINT_URL*. */
  endpoint?: string
  maxAttempts: number
  /** Told when an attempt failed in a way the SDK will retry, e.g. throttling. */
  onRetryableError?: (info: {attempt: number; errorName: string; kind: string}) => void
  profile?: string
  region?: string
  requestTimeoutMs: number
  retryMode: 'adaptive' | 'standard'
}

export interface SecretPayload {
  arn: string
  name: string
  value: string | Uint8Array
  versionId?: string
  versionStages?: string[]
}

export interface BatchResult {
  errors: Array<{error: {message?: string; name: string}; secretId: string}>
  values: SecretPayload[]
}

/** A secret's metadata as ListSecrets and DescribeSecret give it: never a value. */
export interface SecretMetadata {
  arn: string
  /** When a scheduled deletion will happen; undefined when none is scheduled. */
  deletionDate?: Date
  description?: string
  lastChangedDate?: Date
  name: string
  tags: Record<string, string>
}

export interface SecretFilter {
  key: 'all' | 'description' | 'name' | 'tag-key' | 'tag-value'
  values: string[]
}

/** A write whose ClientRequestToken an existing version already holds with other content fails with ResourceExistsException. */
export interface SecretWrite {
  clientRequestToken: string
  description?: string
  secretId: string
  value: string
}

/** The reads the chain's aws source needs. */
export interface SecretsManagerApi {
  batchGet(secretIds: string[]): Promise<BatchResult>
  /** undefined when usable; otherwise why not (no region, no credentials anywhere). */
  checkConfigured(): Promise<string | undefined>
  get(request: {secretId: string; versionId?: string; versionStage?: string}): Promise<SecretPayload>
  readonly region?: string
}

/** Those reads plus what the aws block store writes and lists with. */
export interface SecretsManagerStoreApi extends SecretsManagerApi {
  create(request: Omit<SecretWrite, 'secretId'> & {kmsKeyId?: string; name: string; tags: Record<string, string>}): Promise<{arn: string; versionId?: string}>
  /** Schedules deletion after `recoveryDays` (7-30), or deletes at once with `recoveryDays: 0`. */
  delete(request: {recoveryDays: number; secretId: string}): Promise<{deletionDate?: Date}>
  describe(secretId: string): Promise<SecretMetadata>
  /** Every secret matching all `filters`, paged through (100 a page). */
  list(request: {filters: SecretFilter[]; includePlannedDeletion?: boolean}): Promise<SecretMetadata[]>
  restore(secretId: string): Promise<void>
  /** A new version (UpdateSecret: value and description in one call). */
  update(request: SecretWrite): Promise<{arn: string; versionId?: string}>
}

export const isStoreApi = (api: SecretsManagerApi): api is SecretsManagerStoreApi => typeof (api as Partial<SecretsManagerStoreApi>).update === 'function'

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({Key, Value}))

function metadata(entry: {ARN?: string; DeletedDate?: Date; Description?: string; LastChangedDate?: Date; Name?: string; Tags?: Array<{Key?: string; Value?: string}>}): SecretMetadata {
  return {
    arn: entry.ARN ?? '',
    deletionDate: entry.DeletedDate,
    description: entry.Description,
    lastChangedDate: entry.LastChangedDate,
    name: entry.Name ?? '',
    tags: Object.fromEntries((entry.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
  }
}

function payload(output: {
  ARN?: string
  Name?: string
  SecretBinary?: Uint8Array
  SecretString?: string
  VersionId?: string
  VersionStages?: string[]
}): SecretPayload {
  return {
    arn: output.ARN ?? '',
    name: output.Name ?? '',
    value: output.SecretString ?? output.SecretBinary ?? '',
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

export async function connectSecretsManager(connection: AwsConnection): Promise<SecretsManagerStoreApi> {
  const [sdk, {fromNodeProviderChain}] = await Promise.all([
    import('@aws-sdk/client-secrets-manager'),
    import('@aws-sdk/credential-providers'),
  ])
  const client: SecretsManagerClient = withQuietNodeWarning(
    () =>
      new sdk.SecretsManagerClient({
        credentials: connection.credentials ?? fromNodeProviderChain(connection.profile ? {profile: connection.profile} : {}),
        ...(connection.endpoint ? {endpoint: connection.endpoint} : {}),
        maxAttempts: connection.maxAttempts,
        region: connection.region,
        // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and
        // goes on waiting, so a stalled endpoint would hang keyflow for good.
        requestHandler: {
          connectionTimeout: connection.connectTimeoutMs,
          requestTimeout: connection.requestTimeoutMs,
          throwOnRequestTimeout: true,
        },
        retryMode: connection.retryMode,
        ...(connection.profile ? {profile: connection.profile} : {}),
      }),
  )

  if (connection.onRetryableError) {
    const notify = connection.onRetryableError
    // Sits inside the retry loop, so it sees each attempt's error before the SDK retries it.
    // The retry strategy numbers each request's attempts in the amz-sdk-request header; the
    // last attempt's error is not retried, so it gets no notice.
    type Middleware = Parameters<typeof client.middlewareStack.addRelativeTo>[0]
    type Next = (args: unknown) => Promise<unknown>
    client.middlewareStack.addRelativeTo(
      ((next: Next) => async (args: {request?: {headers?: Record<string, string>}}) => {
        try {
          return await next(args)
        } catch (error) {
          const kind = classifyAwsError(error)
          const [, attempt, max] = /attempt=(\d+); max=(\d+)/.exec(args.request?.headers?.['amz-sdk-request'] ?? '') ?? []
          if (isRetryableKind(kind) && Number(attempt) < Number(max)) {
            notify({attempt: Number(attempt), errorName: errorName(error), kind})
          }

          throw error
        }
      }) as unknown as Middleware,
      {name: 'keyflowRetryNotice', relation: 'after', toMiddleware: 'retryMiddleware'},
    )
  }

  let configured: Promise<string | undefined> | undefined
  return {
    async batchGet(secretIds) {
      const output = await client.send(new sdk.BatchGetSecretValueCommand({SecretIdList: secretIds}))
      return {
        errors: (output.Errors ?? []).map((entry) => ({
          error: {message: entry.Message, name: entry.ErrorCode ?? 'Error'},
          secretId: entry.SecretId ?? '',
        })),
        values: (output.SecretValues ?? []).map((value) => payload(value)),
      }
    },
    checkConfigured() {
      configured ??= (async () => {
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
          if (connection.profile || connection.credentials || errorName(error) !== 'CredentialsProviderError' || awsCredentialSourceConfigured()) throw error
          return 'no AWS credentials were found (env, shared config/credentials files, SSO, process, web identity, container or instance metadata)'
        }

        
      })()
      return configured
    },
    async create({clientRequestToken, description, kmsKeyId, name, tags, value}) {
      const output = await client.send(
        new sdk.CreateSecretCommand({ClientRequestToken: clientRequestToken, Description: description, KmsKeyId: kmsKeyId, Name: name, SecretString: value, Tags: tagList(tags)}),
      )
      return {arn: output.ARN ?? '', versionId: output.VersionId}
    },
    async delete({recoveryDays, secretId}) {
      const output = await client.send(
        new sdk.DeleteSecretCommand(recoveryDays === 0 ? {ForceDeleteWithoutRecovery: true, SecretId: secretId} : {RecoveryWindowInDays: recoveryDays, SecretId: secretId}),
      )
      return {deletionDate: output.DeletionDate}
    },
    async describe(secretId) {
      return metadata(await client.send(new sdk.DescribeSecretCommand({SecretId: secretId})))
    },
    async get({secretId, versionId, versionStage}) {
      const output = await client.send(
        new sdk.GetSecretValueCommand({SecretId: secretId, VersionId: versionId, VersionStage: versionStage}),
      )
      return payload(output)
    },
    async list({filters, includePlannedDeletion}) {
      const secrets: SecretMetadata[] = []
      let nextToken: string | undefined
      do {
        // eslint-disable-next-line no-await-in-loop
        const output = await client.send(
          new sdk.ListSecretsCommand({
            Filters: filters.map(({key, values}) => ({Key: key, Values: values})),
            IncludePlannedDeletion: includePlannedDeletion,
            MaxResults: 100,
            NextToken: nextToken,
          }),
        )
        secrets.push(...(output.SecretList ?? []).map((entry) => metadata(entry)))
        nextToken = output.NextToken
      } while (nextToken)

      return secrets
    },
    get region() {
      return connection.region
    },
    async restore(secretId) {
      await client.send(new sdk.RestoreSecretCommand({SecretId: secretId}))
    },
    async update({clientRequestToken, description, secretId, value}) {
      const output = await client.send(
        new sdk.UpdateSecretCommand({ClientRequestToken: clientRequestToken, Description: description, SecretId: secretId, SecretString: value}),
      )
      return {arn: output.ARN ?? '', versionId: output.VersionId}
    },
  }
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
