import {contextVariable, MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from '../env-names.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {Injection} from './plan.js'
import {EnvStyle} from './project.js'

/**
 * The child's environment (docs/run.md "Precedence"): the inherited environment (or, with
 * --pristine, only PRISTINE_VARIABLES from it) less WITHHELD_VARIABLES, then every injected
 * variable on top, each in its own style. An injected secret or block field replaces an
 * inherited variable of the same name, with a warning that names the variable and never the
 * values; a source's key does not, unless overriding is allowed (Metaflow's allow_override).
 */

export const PRISTINE_VARIABLES = ['PATH', 'HOME', 'USER', 'LANG', 'TERM', 'TMPDIR'] as const

/**
 * keyflow's own keys never reach the child: the master key opens every block in the store,
 * far more than the run asked to inject.
 */
export const WITHHELD_VARIABLES = [MASTER_KEY_ENV, NEW_MASTER_KEY_ENV] as const

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
  /** The style of an injection that has none of its own. */
  styleOf: (injection: Injection) => EnvStyle
}

export function childEnvironment(inherited: NodeJS.ProcessEnv, injections: Injection[], options: EnvironmentOptions): ChildEnvironment {
  // No prototype: a variable named __proto__ (inherited or injected) is an ordinary name here.
  const env = Object.create(null) as Record<string, string>
  const names = options.pristine ? PRISTINE_VARIABLES : Object.keys(inherited)
  for (const name of names) {
    if ((WITHHELD_VARIABLES as readonly string[]).includes(name)) continue
    const value = inherited[name]
    if (value !== undefined) env[name] = value
  }

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
