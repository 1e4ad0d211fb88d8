import {Flags} from '@oclif/core'

import {SOURCE_KINDS} from '../settings/settings.js'

/**
 * Flags that choose how secrets are resolved, shared by every command that resolves one.
 * No flag takes its default from the environment here: settings.ts reads KEYFLOW_* itself,
 * and an env-derived default would be baked into the published manifest.
 */
export const resolverFlags = {
  'aws-connect-timeout': Flags.integer({
    description: 'Milliseconds to wait for a connection to AWS (default 3000).',
    helpGroup: 'AWS',
    min: 1,
  }),
  'aws-max-attempts': Flags.integer({
    description: 'Attempts per AWS call, retries included, with backoff (default 3).',
    helpGroup: 'AWS',
    max: 20,
    min: 1,
  }),
  'aws-request-timeout': Flags.integer({
    description: 'Milliseconds for each AWS attempt, the whole answer included (default 10000).',
    helpGroup: 'AWS',
    min: 1,
  }),
  'aws-retry-mode': Flags.string({
    description: 'The AWS SDK retry strategy.',
    helpGroup: 'AWS',
    options: ['standard', 'adaptive'],
  }),
  'aws-role': Flags.string({
    description: 'An IAM role ARN to assume with STS for every Secrets Manager call.',
    helpGroup: 'AWS',
  }),
  'aws-total-timeout': Flags.integer({
    description: 'Milliseconds for all AWS work of one resolution, retries and backoff included (default 60000).',
    helpGroup: 'AWS',
    min: 1,
  }),
  'env-file': Flags.string({
    description: 'A dotenv file to read, instead of ./.env and $KEYFLOW_HOME/secrets.env. Repeatable; the first file that has the name wins.',
    helpGroup: 'SOURCES',
    multiple: true,
  }),
  prefix: Flags.string({
    description: 'Prefix for AWS secret names looked up through the chain, e.g. prod/.',
    helpGroup: 'AWS',
  }),
  profile: Flags.string({description: 'AWS profile from the shared config files.', helpGroup: 'AWS'}),
  region: Flags.string({description: 'AWS region of Secrets Manager.', helpGroup: 'AWS'}),
  sources: Flags.string({
    description: `Sources to try, in order, comma-separated (default ${SOURCE_KINDS.join(',')}).`,
    helpGroup: 'SOURCES',
  }),
}
