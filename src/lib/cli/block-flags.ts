import {Flags} from '@oclif/core'

import {repeatableFlag} from './repeatable-flag.js'

/** Flags that give field values, shared by `block create` and `block update`. */
export const fieldFlags = {
  field: repeatableFlag({
    description: 'FIELD=VALUE, repeatable; dotted paths reach nested fields (credentials.account=...). Secret fields take only a reference here (aws-sm://..., env://...).',
  }),
  'from-file': Flags.string({description: 'A JSON object of fields, or - for stdin. {"$ref": "REFERENCE"} puts a reference in a secret field.'}),
  'stdin-field': Flags.string({description: 'Read the value of this field from stdin (one trailing newline removed): the way to pass one secret.'}),
}
