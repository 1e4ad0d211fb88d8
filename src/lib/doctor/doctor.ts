import {existsSync, readFileSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {loginShell, SETUP} from '../completion/scripts.js'
import {ErrorJson, ExitCode, ExitCodeValue} from '../errors.js'
import {Invocation} from '../invocation.js'
import {toKeyflowError} from '../output/render-error.js'

/**
 * `keyflow doctor`: what keyflow would use, checked and explained one line each, and what is
 * wrong with it. It reads what the commands read (the settings and their origins, the dotenv
 * files, AWS through the same client, the block store through the same loader); it prints
 * names, paths and counts, never a value. Exit 0 only when nothing is wrong.
 */

export type CheckStatus = 'info' | 'ok' | 'problem'

export interface DoctorCheck {
  area: string
  detail: string
  exit?: ExitCodeValue
  fix?: string
  status: CheckStatus
}

export interface DoctorReport {
  checks: DoctorCheck[]
  /** The exit code of the first problem; undefined when there is none. */
  exit?: ExitCodeValue
  ok: boolean
}

export interface DoctorOptions {
  /** Log in to each Snowflake connector block (a network call per block). */
  snowflake?: boolean
}

const ok = (area: string, detail: string): DoctorCheck => ({area, detail, status: 'ok'})
const info = (area: string, detail: string, fix?: string): DoctorCheck => ({area, detail, fix, status: 'info'})
function problem(area: string, error: ErrorJson | {exit: ExitCodeValue; fix?: string; message: string; where?: string}): DoctorCheck {
  return {area, detail: `${error.message}${error.where ? ` (${error.where})` : ''}`, exit: error.exit as ExitCodeValue, fix: error.fix, status: 'problem'}
}

// eslint-disable-next-line no-bitwise -- permission bits
const othersCanRead = (path: string) => (statSync(path).mode & 0o077) !== 0

export async function runDoctor(invocation: Invocation, options: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = []
  let settings: Invocation['settings']
  try {
    settings = invocation.settings
  } catch (error) {
    checks.push(problem('settings', toKeyflowError(error).toJSON()))
    return report(checks)
  }

  checks.push(...settingsChecks(settings), ...(await dotenvChecks(settings)))
  if (settings.sources.includes('aws')) checks.push(...(await awsChecks(invocation)))
  else checks.push(info('aws', 'not in the source list: not checked'))
  checks.push(...(await blockChecks(invocation, options)), completionCheck(invocation.env))
  return report(checks)
}

function report(checks: DoctorCheck[]): DoctorReport {
  const exit = checks.find((check) => check.status === 'problem')?.exit
  return {checks, exit, ok: exit === undefined}
}

function settingsChecks(settings: Invocation['settings']): DoctorCheck[] {
  const checks = [
    settings.projectFile
      ? ok('project', `${settings.projectFile}`)
      : info('project', `no keyflow.json in ${settings.cwd} or above`, '`keyflow init` writes one for this project.'),
  ]
  for (const [key, origin] of Object.entries(settings.origins)) {
    const value = (settings as Record<string, unknown>)[key]
    const shown = Array.isArray(value) ? value.join(',') : value === undefined || value === '' ? '(none)' : String(value)
    checks.push(ok('settings', `${key} = ${shown}  (${origin})`))
  }

  return checks
}

async function dotenvChecks(settings: Invocation['settings']): Promise<DoctorCheck[]> {
  if (!settings.sources.includes('dotenv')) return [info('dotenv', 'not in the source list: not checked')]
  const {envFiles, inspectEnvFile} = await import('../secret/sources/dotenv.js')
  const checks: DoctorCheck[] = []
  for (const file of envFiles(settings as never)) {
    // eslint-disable-next-line no-await-in-loop
    const read = await inspectEnvFile(file)
    if ('missing' in read) checks.push(info('dotenv', `${file.path}: not present`))
    else if ('error' in read) checks.push(problem('dotenv', read.error.toJSON()))
    else if (othersCanRead(file.path)) {
      checks.push(problem('dotenv', {exit: ExitCode.INTEGRITY, fix: `chmod 600 ${file.path}`, message: `${file.path} can be read by group or others`}))
    } else checks.push(ok('dotenv', `${file.path}: ${read.entries} entr${read.entries === 1 ? 'y' : 'ies'}, private`))
  }

  return checks
}

/**
 * Region, the credential provider that answered, and one authenticated call: GetSecretValue of
 * a name nobody uses. "Not found" proves the credentials and the endpoint work, and "denied"
 * that they authenticate (a role may read only its own secrets); anything else is a problem.
 */
async function awsChecks(invocation: Invocation): Promise<DoctorCheck[]> {
  const settings = invocation.settings as never
  const [{connectAws}, {awsFailure, classifyAwsError, errorName}] = await Promise.all([import('../secret/sources/aws.js'), import('../aws/errors.js')])
  const api = await connectAws(settings, {connect: invocation.connectSecretsManager})
  const checks: DoctorCheck[] = []
  try {
    const notConfigured = await api.checkConfigured()
    if (notConfigured) return [info('aws', `not configured: ${notConfigured}`, 'Set a region and credentials to use AWS Secrets Manager, or leave aws out of --sources.')]
  } catch (error) {
    return [problem('aws', toKeyflowError(error).toJSON())]
  }

  checks.push(ok('aws', `region ${api.region ?? '(from the AWS profile)'}; credentials from ${(await api.credentialSource?.()) ?? 'the default chain'}`))
  const probe = 'keyflow-doctor/probe'
  try {
    await api.get({secretId: probe})
    checks.push(ok('aws', 'authenticated call to Secrets Manager answered'))
  } catch (error) {
    const kind = classifyAwsError(error)
    if (kind === 'not-found') checks.push(ok('aws', `authenticated: Secrets Manager answered (${errorName(error)} for a probe name)`))
    else if (kind === 'denied') checks.push(ok('aws', `authenticated, though not allowed to read ${probe} (${errorName(error)}): fine for a role that reads only its own secrets`))
    else checks.push(problem('aws', awsFailure(error, probe, {attempts: (settings as {awsMaxAttempts: number}).awsMaxAttempts, operation: 'GetSecretValue'}).toJSON()))
  }

  return checks
}

async function blockChecks(invocation: Invocation, options: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const {home} = invocation
  const keyFile = join(home, 'master.key')
  if (invocation.env.KEYFLOW_MASTER_KEY) checks.push(ok('blocks', 'master key from KEYFLOW_MASTER_KEY'))
  else if (existsSync(keyFile)) {
    checks.push(othersCanRead(keyFile) ? problem('blocks', {exit: ExitCode.INTEGRITY, fix: `chmod 600 ${keyFile}`, message: `${keyFile} can be read by group or others`}) : ok('blocks', `master key ${keyFile}, private`))
  } else checks.push(info('blocks', `no master key yet (${keyFile} is created with the first secret block)`))

  const {checkBlocks} = await import('../block/documents/check.js')
  let checked
  try {
    checked = await checkBlocks(invocation, [])
  } catch (error) {
    return [...checks, problem('blocks', toKeyflowError(error).toJSON())]
  }

  const failed = checked.checks.filter((check) => !check.ok)
  if (checked.checks.length === 0) checks.push(info('blocks', `no documents in ${join(home, 'blocks')}`))
  else if (failed.length === 0) checks.push(ok('blocks', `${checked.checks.length} document(s) decrypt and resolve (keyflow block check)`))
  for (const check of failed) checks.push(problem('blocks', {...check.error!, message: `${check.address}: ${check.error!.message}`}))

  const connectors = checked.checks.filter((check) => check.address.startsWith('snowflake-connector/'))
  if (connectors.length > 0 && !options.snowflake) checks.push(info('snowflake', `${connectors.length} connector block(s); --snowflake logs in to each`))
  if (options.snowflake) checks.push(...(await snowflakeChecks(invocation, connectors.filter((check) => check.ok).map((check) => check.address))))
  return checks
}

async function snowflakeChecks(invocation: Invocation, addresses: string[]): Promise<DoctorCheck[]> {
  if (addresses.length === 0) return [info('snowflake', 'no loadable snowflake-connector blocks')]
  const [{resolveBlock}, {SnowflakeConnector}] = await Promise.all([import('../block/documents/load.js'), import('../snowflake/connector.js')])
  const checks: DoctorCheck[] = []
  // One login at a time, in the order listed: the report reads top to bottom.
  /* eslint-disable no-await-in-loop */
  for (const address of addresses) {
    try {
      const {data} = await resolveBlock(invocation, address)
      await using connector = new SnowflakeConnector(data as never)
      await connector.execute('SELECT 1')
      checks.push(ok('snowflake', `${address}: logged in, SELECT 1 answered`))
    } catch (error) {
      checks.push(problem('snowflake', {...toKeyflowError(error).toJSON(), message: `${address}: ${toKeyflowError(error).message}`}))
    }
  }
  /* eslint-enable no-await-in-loop */

  return checks
}

function completionCheck(env: NodeJS.ProcessEnv): DoctorCheck {
  const shell = loginShell(env)
  if (!shell) return info('completion', `no completion script for ${env.SHELL ?? 'this shell'} ($SHELL)`, 'keyflow completion bash|zsh|fish prints one.')
  const setup = SETUP[shell]
  const file = join(env.HOME ?? homedir(), setup.file)
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {}

  return text.includes(setup.marker) ? ok('completion', `${shell}: set up in ~/${setup.file}`) : info('completion', `${shell}: not set up`, `Add ${setup.how} to ~/${setup.file} (keyflow completion --help).`)
}
