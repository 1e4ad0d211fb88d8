/**
 * Environment variable names more than one domain knows: Prefect 1's context secrets (a
 * source reads them, `run` writes them) and keyflow's own master keys (the block store reads
 * them, `run` withholds them from children).
 */

/** PREFECT__CONTEXT__SECRETS__NAME, the name keeping its case. */
export const CONTEXT_PREFIX = 'PREFECT__CONTEXT__SECRETS__'

export const contextVariable = (name: string): string => CONTEXT_PREFIX + name

/** A name a POSIX shell can assign: letters, digits and _, not starting with a digit. */
export const ENV_NAME = /^[A-Z_a-z]\w*$/

/**
 * How to set a variable, for a hint: `export NAME=...`, or for a name a shell cannot assign
 * (my-key) env(1), which sets any name for the command it runs.
 */
export const howToSet = (variable: string): string => (ENV_NAME.test(variable) ? `export ${variable}=...` : `env '${variable}=...' COMMAND`)

export const MASTER_KEY_ENV = 'KEYFLOW_MASTER_KEY'
export const NEW_MASTER_KEY_ENV = 'KEYFLOW_NEW_MASTER_KEY'
