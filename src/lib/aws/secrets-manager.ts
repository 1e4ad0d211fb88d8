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

export interface SecretsManagerApi {
  batchGet(secretIds: string[]): Promise<BatchResult>
  /** undefined when usable; otherwise why not (no region, no credentials anywhere). */
  checkConfigured(): Promise<string | undefined>
  get(request: {secretId: string; versionId?: string; versionStage?: string}): Promise<SecretPayload>
  readonly region?: string
  /**
   * Which version holds each stage, for secrets named exactly `names`: ListSecrets with a name
   * filter, 10 names a call (the filter's limit), no values transferred. Names not listed are absent.
   */
  versionStages(names: string[]): Promise<Map<string, Record<string, string[]>>>
}

/** A ListSecrets name filter takes at most 10 values. */
const LIST_FILTER_VALUES = 10

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

export async function connectSecretsManager(connection: AwsConnection): Promise<SecretsManagerApi> {
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
    async get({secretId, versionId, versionStage}) {
      const output = await client.send(
        new sdk.GetSecretValueCommand({SecretId: secretId, VersionId: versionId, VersionStage: versionStage}),
      )
      return payload(output)
    },
    get region() {
      return connection.region
    },
    async versionStages(names) {
      const stages = new Map<string, Record<string, string[]>>()
      for (let start = 0; start < names.length; start += LIST_FILTER_VALUES) {
        const chunk = names.slice(start, start + LIST_FILTER_VALUES)
        let token: string | undefined
        do {
          // The name filter matches prefixes: only exact names are kept.
          // eslint-disable-next-line no-await-in-loop
          const page = await client.send(new sdk.ListSecretsCommand({Filters: [{Key: 'name', Values: chunk}], NextToken: token}))
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
