import {CONTEXT_PREFIX, howToSet} from '../../env-names.js'
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
    /** The environment holds far more than secrets: only variables whose names look like one. */
    async list() {
      const names = Object.keys(env).filter((variable) => looksSecret(variable) && !variable.startsWith(CONTEXT_PREFIX))
      return {detail: 'variables whose names look like secrets', names: names.map((name) => ({name, where: `$${name}`}))}
    },
    async lookup(requests) {
      return requests.map(({name}) => {
        const value = envValue(env, name)
        return value === undefined ? miss(`$${name} is not set`, howToSet(name)) : hit(value, {source: 'env', variable: name})
      })
    },
  }
}

/**
 * Whether a variable's name says it holds a secret (DB_PASSWORD, GITHUB_TOKEN, API_KEY,
 * AWS_SECRET_ACCESS_KEY, ...): what `secret ls` lists of the environment, which holds far more
 * than secrets. PWD and OLDPWD are directories.
 */
export function looksSecret(name: string): boolean {
  if (name === 'PWD' || name === 'OLDPWD') return false
  return /(?:^|[_.-])(?:API_?KEY|CREDENTIALS?|KEY|PASS|PASSPHRASE|PASSWD|PASSWORD|PRIVATE_?KEY|PW|PWD|SECRET|TOKEN)S?(?:$|[_.-])/i.test(name)
}

export const envPlugin = defineSource<{source: 'env'; variable: string}, Record<never, never>>({
  describe: (provenance) => `$${provenance.variable}`,
  kind: 'env',
  open: ({settings}) => envSource(settings.env),
  schemes: ['env'],
  settings: {},
})
