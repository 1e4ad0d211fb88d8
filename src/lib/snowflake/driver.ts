import type * as Snowflake from 'snowflake-sdk'

import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {deferRequire} from '../util/deferred-require.js'
import {importModule} from '../util/import-module.js'

/**
 * snowflake-sdk, loaded on first use only: importing it costs about 0.3 s, so commands that do
 * not talk to Snowflake never pay for it. It is an optional peer dependency, installed by those
 * who use Snowflake (its Azure SDKs alone weigh more than the rest of keyflow): absent, it is a
 * clear error that says how to install it.
 *
 * Before the first import keyflow sets, unless the user already set them:
 * - SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true: otherwise requiring the driver probes cloud
 *   metadata endpoints and sends an STS GetCallerIdentity through the default AWS credential
 *   chain, a surprising call for a secrets tool to make on a user's behalf;
 * - SF_TELEMETRY_DISABLE_CONNECTION_SHAPE=1: the driver's only telemetry that can be switched
 *   off (a description of the connection sent after each login).
 * The driver's logger is replaced by one that drops everything, so no snowflake.log is ever
 * written to the working directory and no driver message (which may quote connection
 * options) reaches a file or the terminal.
 *
 * The driver requires, as it loads, the SDKs of features a query never uses; they wait until
 * used (util/deferred-require.ts): the driver then loads 292 modules instead of 720, leaves 9.6
 * MB on the heap instead of 19, and loads in ~0.3 s instead of ~0.5 (docs/snowflake.md "Speed").
 * In a long stream that heap counts 1.6 times: V8 lets the heap grow to a multiple of what is
 * live before it collects.
 */

export type SnowflakeSdk = (typeof Snowflake)['default']

/**
 * What of snowflake-sdk 3.3's dependencies only some features use: PUT and GET (Azure blob
 * storage, the MIME types of uploaded files), workload identity federation (Azure, GCP and AWS
 * attestation), platform detection (off: above), key-pair login (JWT) and the driver's own
 * logger (replaced: above). Each package's exports are an object (test/unit/snowflake/driver.test.ts).
 */
export const DEFERRED_DRIVER_PACKAGES = [
  '@aws-sdk/client-sts',
  '@aws-sdk/ec2-metadata-service',
  '@azure/identity',
  '@azure/storage-blob',
  'google-auth-library',
  'jsonwebtoken',
  'mime-types',
  'winston',
] as const

let loading: Promise<SnowflakeSdk> | undefined

const silent: Snowflake.SnowflakeLogger = {
  debug() {},
  error() {},
  info() {},
  trace() {},
  warn() {},
}

export async function loadSnowflake(): Promise<SnowflakeSdk> {
  loading ??= (async () => {
    process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION ??= 'true'
    process.env.SF_TELEMETRY_DISABLE_CONNECTION_SHAPE ??= '1'
    deferDriverPackages()
    const module = await importModule<{default: typeof import('snowflake-sdk')}>('snowflake-sdk').catch((error: unknown) => {
      throw errnoCode(error) === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes("'snowflake-sdk'") ? driverMissing(error) : error
    })
    // CommonJS: the namespace's default export is module.exports.
    const sdk = module.default
    sdk.configure({additionalLogToConsole: false, customLogger: silent, logLevel: 'OFF'})
    return sdk
  })()
  return loading
}

/**
 * From the driver that import('snowflake-sdk') loads: the nearest node_modules/snowflake-sdk
 * above keyflow's files. ES module resolution reads neither NODE_PATH nor the global folders
 * require() also searches, where another driver may be. No driver: importModule reports it.
 */
function deferDriverPackages(): void {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', 'snowflake-sdk', 'package.json')
    if (existsSync(manifest)) {
      deferRequire(manifest, DEFERRED_DRIVER_PACKAGES)
      return
    }

    if (dirname(dir) === dir) return
  }
}

function driverMissing(cause: unknown): KeyflowError {
  return new KeyflowError('The Snowflake driver (snowflake-sdk) is not installed.', {
    cause,
    code: 'SNOWFLAKE_DRIVER_MISSING',
    exit: ExitCode.SNOWFLAKE,
    fix: 'Install it where keyflow is installed: `npm install -g snowflake-sdk@3` for a global keyflow, `npm install snowflake-sdk@3` in a project (README "Install").',
  })
}
