import {Flags} from '@oclif/core'

import {resolverFlags} from '../cli/resolver-flags.js'

/** Flags that give field values, shared by `block create` and `block update`. */
export const fieldFlags = {
  field: Flags.string({
    description: 'FIELD=VALUE, repeatable; dotted paths reach nested fields (credentials.account=...). Secret fields take only a reference here (aws-sm://..., env://...).',
    multiple: true,
  }),
  'from-file': Flags.string({description: 'A JSON object of fields, or - for stdin. {"$ref": "REFERENCE"} puts a reference in a secret field.'}),
  'stdin-field': Flags.string({description: 'Read the value of this field from stdin (one trailing newline removed): the way to pass one secret.'}),
}

/**
 * Which block store a command works on, and how to reach the aws one. No default here:
 * settings.ts reads KEYFLOW_BLOCK_STORE and keyflow.json's blocks.store itself.
 */
export const storeFlags = {
  'blocks-prefix': Flags.string({description: 'aws store: prefix of the secret names, e.g. team-a/keyflow/ (default keyflow/, or blocks.prefix).', helpGroup: 'STORE'}),
  store: Flags.string({description: 'The block store: local ($KEYFLOW_HOME/blocks) or aws (AWS Secrets Manager, shared by a team). Default: blocks.store, KEYFLOW_BLOCK_STORE, else local.', helpGroup: 'STORE', options: ['local', 'aws']}),
}

/** storeFlags plus the AWS connection flags, for commands that only work on blocks. */
export const blockCommandFlags = {
  ...storeFlags,
  'aws-connect-timeout': resolverFlags['aws-connect-timeout'],
  'aws-max-attempts': resolverFlags['aws-max-attempts'],
  'aws-request-timeout': resolverFlags['aws-request-timeout'],
  'aws-retry-mode': resolverFlags['aws-retry-mode'],
  profile: resolverFlags.profile,
  region: resolverFlags.region,
}
