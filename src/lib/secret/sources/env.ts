import {howToSet} from '../../env-names.js'
import {defineSource, hit, miss, SecretSource} from '../source.js'

/**
 * The value of an environment variable, if set. Own properties only: process.env inherits
 * from Object.prototype, so a secret named constructor or toString would otherwise "hit" a
 * function.
 */
export function envValue(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  return Object.hasOwn(env, variable) ? env[variable] : undefined
}

/** A plain environment variable of the same name. */
export function envSource(env: NodeJS.ProcessEnv): SecretSource {
  return {
    kind: 'env',
    async lookup(requests) {
      return requests.map(({name}) => {
        const value = envValue(env, name)
        return value === undefined ? miss(`$${name} is not set`, howToSet(name)) : hit(value, {source: 'env', variable: name})
      })
    },
  }
}

export const envPlugin = defineSource<{source: 'env'; variable: string}, Record<never, never>>({
  describe: (provenance) => `$${provenance.variable}`,
  kind: 'env',
  open: ({settings}) => envSource(settings.env),
  schemes: ['env'],
  settings: {},
})
