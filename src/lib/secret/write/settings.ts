import {Parser, settingError} from '../../settings/spec.js'

/** A place `secret set` can write: AWS Secrets Manager, or a dotenv file (default $KEYFLOW_HOME/secrets.env). */
export type WriteTarget = {kind: 'aws'} | {kind: 'dotenv'; path?: string}

const writeTarget: Parser<WriteTarget> = Object.assign(
  (raw: unknown, where: string): WriteTarget => {
    const value = typeof raw === 'string' ? raw.trim() : raw
    if (value === 'aws') return {kind: 'aws'}
    if (value === 'dotenv') return {kind: 'dotenv'}
    if (typeof value === 'string' && value.startsWith('dotenv=') && value.length > 'dotenv='.length) return {kind: 'dotenv', path: value.slice('dotenv='.length)}
    throw settingError(`Unknown write target ${JSON.stringify(value)}.`, where, 'Write targets are: aws, dotenv (the default file, $KEYFLOW_HOME/secrets.env), dotenv=PATH.')
  },
  {flag: {type: 'string' as const}},
)

/** Where `secret set` and `secret rm` put a bare NAME. Read by every invocation (config files are checked against it); only those commands take the flag. */
export const WRITE_SETTINGS = {
  secretsWriteTo: {
    configPath: ['secrets', 'writeTo'],
    description: 'Where a bare NAME is written: aws, dotenv ($KEYFLOW_HOME/secrets.env) or dotenv=PATH.',
    env: ['KEYFLOW_SECRETS_WRITE_TO'],
    flag: 'to',
    helpGroup: 'TARGET',
    parse: writeTarget,
    paths: true,
  },
}
