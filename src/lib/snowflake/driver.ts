import type * as Snowflake from 'snowflake-sdk'

/**
 * snowflake-sdk, loaded on first use only: importing it costs about 0.5 s, so commands that do
 * not talk to Snowflake never pay for it.
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
    const module = await import('snowflake-sdk')
    // CommonJS: the namespace's default export is module.exports.
    const sdk = module.default
    sdk.configure({additionalLogToConsole: false, customLogger: silent, logLevel: 'OFF'})
    return sdk
  })()
  return loading
}
