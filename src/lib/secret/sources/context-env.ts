import {CONTEXT_PREFIX, howToSet} from '../../env-names.js'
import {defineSource, hit, miss, SecretSource} from '../source.js'
import {envValue} from './env.js'

/**
 * Prefect 1's context secrets: PREFECT__CONTEXT__SECRETS__NAME, the name keeping its case
 * (Prefect rewrites only the CONTEXT__SECRETS part, so the all-lowercase spelling works too).
 */
const LOWERCASE_PREFIX = 'PREFECT__context__secrets__'

/**
 * Prefect nests secret names on `__`: PREFECT__CONTEXT__SECRETS__NEST__INNER=v makes the secret
 * NEST the dict {"INNER": "v"}. The same, as JSON text, from every variable under NAME__. Values
 * are the variables' text: Prefect's own conversions of them (docs/compat.md) are not applied.
 * `contextVariables`: the environment's names under either prefix, sorted.
 */
function nested(env: NodeJS.ProcessEnv, contextVariables: string[], name: string): undefined | {value: string; variable: string} {
  const object: Record<string, unknown> = Object.create(null)
  let first: string | undefined
  for (const prefix of [CONTEXT_PREFIX, LOWERCASE_PREFIX]) {
    for (const variable of contextVariables) {
      if (!variable.startsWith(`${prefix}${name}__`)) continue
      const parts = variable.slice(prefix.length + name.length + 2).split('__')
      let node = object
      for (const part of parts.slice(0, -1)) {
        const child = Object.hasOwn(node, part) ? node[part] : undefined
        if (typeof child === 'string') return undefined // X and X__Y: Prefect's loader fails on it
        node = (child ?? (node[part] = Object.create(null))) as Record<string, unknown>
      }

      node[parts.at(-1)!] = env[variable]
      first ??= `${prefix}${name}__*`
    }

    if (first) return {value: JSON.stringify(object), variable: first}
  }

  return undefined
}

export function contextSource(env: NodeJS.ProcessEnv): SecretSource {
  return {
    kind: 'context',
    async list() {
      const names = Object.keys(env).flatMap((variable) => {
        const prefix = [CONTEXT_PREFIX, LOWERCASE_PREFIX].find((candidate) => variable.startsWith(candidate) && variable.length > candidate.length)
        return prefix ? [{name: variable.slice(prefix.length), where: `$${variable}`}] : []
      })
      return {names}
    },
    async lookup(requests) {
      // Sorted once for every name looked up (a run may ask for hundreds): the variables nested() reads.
      const contextVariables = Object.keys(env)
        .filter((variable) => variable.startsWith(CONTEXT_PREFIX) || variable.startsWith(LOWERCASE_PREFIX))
        .sort()
      return requests.map(({name}) => {
        for (const variable of [CONTEXT_PREFIX + name, LOWERCASE_PREFIX + name]) {
          const value = envValue(env, variable)
          if (value !== undefined) return hit(value, {source: 'context', variable})
        }

        const dict = nested(env, contextVariables, name)
        if (dict) return hit(dict.value, {source: 'context', variable: dict.variable})

        return miss(`${CONTEXT_PREFIX}${name} is not set`, howToSet(CONTEXT_PREFIX + name))
      })
    },
  }
}

export const contextPlugin = defineSource<{source: 'context'; variable: string}, Record<never, never>>({
  describe: (provenance) => `$${provenance.variable}`,
  kind: 'context',
  open: ({settings}) => contextSource(settings.env),
  schemes: ['context'],
  settings: {},
})
