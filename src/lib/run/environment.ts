import {contextVariable, MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from '../env-names.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {Injection} from './plan.js'
import {EnvStyle} from './project.js'

/**
 * The child's environment (docs/run.md "Precedence"): the inherited environment (or, with
 * --pristine, only PRISTINE_VARIABLES from it) less WITHHELD_VARIABLES and what --withhold
 * names, then every injected variable on top, each in its own style. An injected secret or
 * block field replaces an inherited variable of the same name, with a warning that names the
 * variable and never the values; a source's key does not, unless overriding is allowed
 * (Metaflow's allow_override).
 */

export const PRISTINE_VARIABLES = ['PATH', 'HOME', 'USER', 'LANG', 'TERM', 'TMPDIR'] as const

/**
 * keyflow's own keys never reach the child: the master key opens every block in the store,
 * far more than the run asked to inject.
 */
export const WITHHELD_VARIABLES = [MASTER_KEY_ENV, NEW_MASTER_KEY_ENV] as const

export const WITHHOLD_GROUPS = ['aws'] as const
export type WithholdGroup = (typeof WITHHOLD_GROUPS)[number]

/**
 * What `--withhold aws` keeps from the child: every variable the AWS SDKs take credentials
 * (or the way to credentials) from, and values that make an SDK in the child find none, so it
 * does not fall back to the shared files or the instance role keyflow may have used. Region
 * and endpoint settings stay: they grant nothing.
 */
const WITHHELD_GROUPS: Record<WithholdGroup, {remove: readonly string[]; set: Record<string, string>}> = {
  aws: {
    remove: [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_SECURITY_TOKEN',
      'AWS_CREDENTIAL_EXPIRATION',
      'AWS_PROFILE',
      'AWS_DEFAULT_PROFILE',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_ROLE_ARN',
      'AWS_ROLE_SESSION_NAME',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    ],
    set: {AWS_CONFIG_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'},
  },
}

/**
 * Variables that make a dynamic loader, an interpreter or a shell load code of their choosing:
 * a key of a --source (a JSON object whose keys the secret's writer chose) may set one only
 * when the run names it with --allow-source-key.
 */
const HIJACK_VARIABLES = new Set([
  '_JAVA_OPTIONS', 'BASH_ENV', 'BASHOPTS', 'CLASSPATH', 'DOTNET_STARTUP_HOOKS', 'ENV', 'GCONV_PATH', 'IFS', 'JAVA_TOOL_OPTIONS',
  'JDK_JAVA_OPTIONS', 'NODE_OPTIONS', 'NODE_PATH', 'PATH', 'PERL5DB', 'PERL5LIB', 'PERL5OPT', 'PERLLIB', 'PROMPT_COMMAND', 'PS4',
  'PYTHONHOME', 'PYTHONINSPECT', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONUSERBASE', 'RUBYLIB', 'RUBYOPT', 'SHELLOPTS',
])
const HIJACK_PREFIXES = ['LD_', 'DYLD_']

/** The style an injection goes in: its declaration's own, or the run's. */
export type StyleOf = (injection: Injection) => EnvStyle

export const isHijackVariable = (name: string) => HIJACK_VARIABLES.has(name) || HIJACK_PREFIXES.some((prefix) => name.startsWith(prefix))

/** Refuses source keys that would set a HIJACK_VARIABLES name in the child, unless `allowed`. */
export function checkSourceKeys(injections: Injection[], styleOf: StyleOf, allowed: readonly string[]): void {
  const refused = injections.flatMap((injection) =>
    injection.fromSource ? variableNames(injection.key, styleOf(injection)).filter((name) => isHijackVariable(name) && !allowed.includes(name)).map((name) => `${name} from ${injection.origin}`) : [],
  )
  if (refused.length === 0) return
  throw new KeyflowError(`A source sets ${refused.length === 1 ? 'a variable' : 'variables'} that can make the command load other code.`, {
    code: 'HIJACK_VARIABLE',
    details: refused,
    exit: ExitCode.BAD_VALUE,
    fix: 'Remove the key from the source, or, if the run needs it, allow it by name: --allow-source-key NAME (run.allowSourceKeys in keyflow.json).',
  })
}

export function variableNames(key: string, style: EnvStyle): string[] {
  if (style === 'plain') return [key]
  if (style === 'prefect') return [contextVariable(key)]
  return [contextVariable(key), key]
}

export interface ChildEnvironment {
  env: Record<string, string>
  warnings: string[]
}

export interface EnvironmentOptions {
  /** Sources may replace inherited variables (--allow-override). */
  allowOverride: boolean
  pristine: boolean
  /** The style of each injection: its own, or the run's. */
  styleOf: StyleOf
  withhold: readonly WithholdGroup[]
}

export function childEnvironment(inherited: NodeJS.ProcessEnv, injections: Injection[], options: EnvironmentOptions): ChildEnvironment {
  // No prototype: a variable named __proto__ (inherited or injected) is an ordinary name here.
  const env = Object.create(null) as Record<string, string>
  const names = options.pristine ? PRISTINE_VARIABLES : Object.keys(inherited)
  const removed = new Set<string>([...options.withhold.flatMap((group) => WITHHELD_GROUPS[group].remove), ...WITHHELD_VARIABLES])
  for (const name of names) {
    if (removed.has(name)) continue
    const value = inherited[name]
    if (value !== undefined) env[name] = value
  }

  for (const group of options.withhold) Object.assign(env, WITHHELD_GROUPS[group].set)

  const warnings: string[] = []
  const refused: string[] = []
  for (const injection of injections) {
    for (const name of variableNames(injection.key, options.styleOf(injection))) {
      // Metaflow refuses a key already in the environment, even with the same value.
      if (injection.kind === 'source' && !options.allowOverride && Object.hasOwn(env, name)) refused.push(`$${name} (${injection.origin})`)
      // The same value already there (e.g. resolved from that very variable) is no override.
      else if (Object.hasOwn(env, name) && env[name] !== injection.value) {
        warnings.push(`$${name} is already set in the environment; the value injected for ${injection.origin} replaces it.`)
      }

      env[name] = injection.value
    }
  }

  if (refused.length > 0) {
    throw new KeyflowError(`${refused.length === 1 ? 'A source would replace a variable' : `Sources would replace ${refused.length} variables`} already in the environment; nothing was run.`, {
      code: 'ENV_OVERRIDE',
      details: refused,
      exit: ExitCode.CONFLICT,
      fix: 'Unset the variable, or allow sources to replace it with --allow-override (run.allowOverride in keyflow.json), as Metaflow\'s allow_override does.',
    })
  }

  return {env, warnings}
}
