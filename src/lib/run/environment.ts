import {contextVariable, MASTER_KEY_ENV, NEW_MASTER_KEY_ENV} from '../env-names.js'
import {Injection} from './plan.js'
import {EnvStyle} from './project.js'

/**
 * The child's environment (docs/run.md "Precedence"): the inherited environment (or, with
 * --pristine, only PRISTINE_VARIABLES from it) less WITHHELD_VARIABLES, then every injected
 * variable on top. An
 * injected variable replaces an inherited one of the same name, with a warning that names the
 * variable and never the values.
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

export function childEnvironment(inherited: NodeJS.ProcessEnv, injections: Injection[], style: EnvStyle, pristine: boolean): ChildEnvironment {
  const env: Record<string, string> = {}
  const names = pristine ? PRISTINE_VARIABLES : Object.keys(inherited)
  for (const name of names) {
    if ((WITHHELD_VARIABLES as readonly string[]).includes(name)) continue
    const value = inherited[name]
    if (value !== undefined) env[name] = value
  }

  const warnings: string[] = []
  for (const {key, origin, value} of injections) {
    for (const name of variableNames(key, style)) {
      // The same value already there (e.g. resolved from that very variable) is no override.
      if (env[name] !== undefined && env[name] !== value) {
        warnings.push(`$${name} is already set in the environment; the value injected for ${origin} replaces it.`)
      }

      env[name] = value
    }
  }

  return {env, warnings}
}
