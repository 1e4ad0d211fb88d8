import {Flags} from '@oclif/core'

import {repeatableFlag} from './repeatable-flag.js'
import {resolverFlags, storeFlags} from './resolver-flags.js'

/** Flags that give field values, shared by `block create` and `block update`. */
export const fieldFlags = {
  field: repeatableFlag({
    description: 'FIELD=VALUE, repeatable; dotted paths reach nested fields (credentials.account=...). Secret fields take only a reference here (aws-sm://..., env://...).',
  }),
  'from-file': Flags.string({description: 'A JSON object of fields, or - for stdin. {"$ref": "REFERENCE"} puts a reference in a secret field.'}),
  'stdin-field': Flags.string({description: 'Read the value of this field from stdin (one trailing newline removed): the way to pass one secret.'}),
}

// --aws-total-timeout bounds a block command's whole sequence of calls (a create's CreateSecret, reference pin and undo), as it bounds a resolution.
const AWS_CONNECTION_FLAGS = ['aws-connect-timeout', 'aws-max-attempts', 'aws-request-timeout', 'aws-retry-mode', 'aws-total-timeout', 'profile', 'region']
// The aws store reads its documents through the cache (docs/cache.md "The aws block store").
const CACHE_FLAGS = ['cache-max-stale', 'cache-ttl', 'no-cache', 'offline']
const BLOCK_COMMAND_RESOLVER_FLAGS = new Set([...AWS_CONNECTION_FLAGS, ...CACHE_FLAGS])

/** The store flags, the AWS connection flags and the cache's (not the chain's --prefix or --sources), for commands that only work on blocks. */
export const blockCommandFlags = {
  ...storeFlags,
  ...(Object.fromEntries(Object.entries(resolverFlags).filter(([name]) => BLOCK_COMMAND_RESOLVER_FLAGS.has(name))) as typeof resolverFlags),
}
