import {ChildProcess, spawn, spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {freePort} from './ports.js'

/**
 * moto's server on a free loopback port, driven by the real AWS SDK. Where python3 cannot
 * import moto the AWS tests are skipped with a loud notice, except under CI=true, where that
 * is a failure: CI must never pass by skipping them.
 */

export interface Moto {
  /** Env vars that point the AWS SDK (and keyflow) at this server. */
  env: Record<string, string>
  port: number
  reset(): Promise<void>
  stop(): Promise<void>
  url: string
}

let available: boolean | undefined

export function motoAvailable(): boolean {
  available ??= spawnSync('python3', ['-c', 'import moto.server'], {stdio: 'ignore'}).status === 0
  return available
}

/** Call in a `before` hook: skips the suite (or fails under CI) when moto is missing. */
export function requireMoto(context: Mocha.Context): void {
  if (motoAvailable()) return
  if (process.env.CI === 'true') throw new Error('python3 cannot import moto, and CI=true: the AWS tests must run in CI.')
  console.error('\n  !!! SKIPPING AWS TESTS: python3 cannot import moto (pip install "moto[server]") !!!\n')
  context.skip()
}

export const MOTO_REGION = 'us-east-1'

const MOTO_SERVER = fileURLToPath(new URL('moto-server.py', import.meta.url))

/** `env`: for the server itself, e.g. INITIAL_NO_AUTH_ACTION_COUNT to enforce IAM after that many calls. */
export async function startMoto(options: {env?: Record<string, string>} = {}): Promise<Moto> {
  const port = await freePort()
  // moto's server, one request at a time (test/support/moto-server.py says why).
  const child: ChildProcess = spawn('python3', [MOTO_SERVER, '-H', '127.0.0.1', '-p', String(port)], {
    env: {...process.env, ...options.env},
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited early: ${stderr}`)
    try {
      // eslint-disable-next-line no-await-in-loop
      const response = await fetch(`${url}/moto-api/data.json`)
      if (response.ok) break
    } catch {}

    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`moto did not start within 30 s: ${stderr}`)
    }

    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 100)
    })
  }

  return {
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: url,
      AWS_REGION: MOTO_REGION,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
    port,
    async reset() {
      await fetch(`${url}/moto-api/reset`, {method: 'POST'})
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => {
        child.once('exit', resolve)
      })
      child.kill('SIGTERM')
      await exited
    },
    url,
  }
}

/** A Secrets Manager client for seeding moto in tests (maxAttempts 1: moto's 500s are not retried). */
export async function motoClient(moto: Moto) {
  const sdk = await import('@aws-sdk/client-secrets-manager')
  const client = new sdk.SecretsManagerClient({
    credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
    endpoint: moto.url,
    maxAttempts: 1,
    region: MOTO_REGION,
  })
  return {
    client,
    async create(name: string, value: string | Uint8Array) {
      return client.send(
        new sdk.CreateSecretCommand(typeof value === 'string' ? {Name: name, SecretString: value} : {Name: name, SecretBinary: value}),
      )
    },
    /**
     * Many secrets, one after another: moto's secret store is not thread-safe, and CreateSecret
     * calls at once (240, and then even 20) now and then crash inside moto (`dictionary changed
     * size during iteration`), answered with an HTML page the SDK cannot parse.
     */
    async createMany(secrets: Array<[name: string, value: string]>) {
      for (const [name, value] of secrets) {
        // eslint-disable-next-line no-await-in-loop -- one at a time, on purpose
        await this.create(name, value)
      }
    },
    async put(name: string, value: string) {
      return client.send(new sdk.PutSecretValueCommand({SecretId: name, SecretString: value}))
    },
    sdk,
  }
}
