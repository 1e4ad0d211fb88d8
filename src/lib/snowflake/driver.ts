import type * as Snowflake from 'snowflake-sdk'

import {errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {importModule} from '../util/import-module.js'

/**
 * snowflake-sdk, loaded on first use only: importing it costs about 0.5 s, so commands that do
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
 */

export type SnowflakeSdk = (typeof Snowflake)['default']

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

function driverMissing(cause: unknown): KeyflowError {
  return new KeyflowError('The Snowflake driver (snowflake-sdk) is not installed.', {
    cause,
    code: 'SNOWFLAKE_DRIVER_MISSING',
    exit: ExitCode.SNOWFLAKE,
    fix: 'Install it where keyflow is installed: `npm install -g snowflake-sdk@3` for a global keyflow, `npm install snowflake-sdk@3` in a project (README "Install").',
  })
}
