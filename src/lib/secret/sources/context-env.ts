import {CONTEXT_PREFIX} from '../../env-names.js'
import {defineSource, hit, miss, SecretSource} from '../source.js'
import {envValue} from './env.js'

/**
 * Prefect 1's context secrets: PREFECT__CONTEXT__SECRETS__NAME, the name keeping its case
 * (Prefect rewrites only the CONTEXT__SECRETS part, so the all-lowercase spelling works too).
 */
const LOWERCASE_PREFIX = 'PREFECT__context__secrets__'

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
      return requests.map(({name}) => {
        for (const variable of [CONTEXT_PREFIX + name, LOWERCASE_PREFIX + name]) {
          const value = envValue(env, variable)
          if (value !== undefined) return hit(value, {source: 'context', variable})
        }

        return miss(`${CONTEXT_PREFIX}${name} is not set`, `export ${CONTEXT_PREFIX}${name}=...`)
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
