import {hit, miss, SecretSource} from '../source.js'

/** A plain environment variable of the same name. */
export function envSource(env: NodeJS.ProcessEnv): SecretSource {
  return {
    describe: () => 'environment variables <NAME>',
    kind: 'env',
    async lookup(requests) {
      return requests.map(({name}) => {
        const value = env[name]
        return value === undefined ? miss(`$${name} is not set`, `export ${name}=...`) : hit(value, {source: 'env', variable: name})
      })
    },
  }
}
