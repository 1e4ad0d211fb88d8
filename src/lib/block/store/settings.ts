import {oneOf, Parser, settingError, SettingValues, text} from '../../settings/spec.js'
import {isPlainObject} from '../../util/json.js'

/**
 * The settings that choose the block store and shape the aws one (docs/blocks.md "The aws
 * store"). The AWS connection itself (region, profile, timeouts, retries) is the aws source's.
 */

/** Tags as an object of strings (config files) or `key=value,key=value` (env var, flag). */
const tagMap: Parser<Record<string, string>> = Object.assign(
  (raw: unknown, where: string) => {
    const entries = typeof raw === 'string' ? raw.split(',').filter(Boolean).map((pair) => pair.split('=')) : isPlainObject(raw) ? Object.entries(raw) : undefined
    const bad = () => settingError('Expected tags as {"key": "value"} or key=value,key=value.', where, 'Give tag keys and string values, e.g. team=data,env=prod (keys starting keyflow: or aws: are reserved).')
    if (!entries) throw bad()
    const tags: Record<string, string> = {}
    for (const [key, value, ...rest] of entries as unknown[][]) {
      if (typeof key !== 'string' || key.trim() === '' || typeof value !== 'string' || rest.length > 0 || key.startsWith('keyflow:') || key.startsWith('aws:')) throw bad()
      tags[key.trim()] = value
    }

    return tags
  },
  {flag: {type: 'string' as const}},
)

const secretNamePrefix: Parser<string> = Object.assign(
  (raw: unknown, where: string) => {
    const value = text(raw, where)
    if (!/^[\w!+./=@-]*$/.test(value) || value.length > 128) {
      throw settingError(`${JSON.stringify(value)} is not a valid secret name prefix.`, where, 'Use letters, digits and /_+=.@!- (Secrets Manager names), e.g. keyflow/ or team-a/keyflow/.')
    }

    return value
  },
  {flag: {type: 'string' as const}},
)

export const BLOCK_STORE_SETTINGS = {
  blocksKmsKeyId: {
    configPath: ['blocks', 'kmsKeyId'],
    description: 'aws block store: a customer-managed KMS key (id, ARN or alias) for new secrets; default aws/secretsmanager.',
    env: ['KEYFLOW_BLOCKS_KMS_KEY_ID'],
    flag: 'kms-key-id',
    helpGroup: 'STORE',
    parse: text,
  },
  blocksPrefix: {
    configPath: ['blocks', 'prefix'],
    default: 'keyflow/',
    description: 'aws block store: prefix of every secret name, e.g. team-a/keyflow/.',
    env: ['KEYFLOW_BLOCKS_PREFIX'],
    flag: 'blocks-prefix',
    helpGroup: 'STORE',
    parse: secretNamePrefix,
  },
  blocksTags: {
    configPath: ['blocks', 'tags'],
    description: 'aws block store: tags for new secrets, key=value,key=value.',
    env: ['KEYFLOW_BLOCKS_TAGS'],
    flag: 'tags',
    helpGroup: 'STORE',
    parse: tagMap,
  },
  blockStore: {
    configPath: ['blocks', 'store'],
    default: 'local',
    description: 'The block store: local ($KEYFLOW_HOME/blocks) or aws (AWS Secrets Manager, shared by a team).',
    env: ['KEYFLOW_BLOCK_STORE'],
    flag: 'store',
    helpGroup: 'STORE',
    parse: oneOf(['local', 'aws'] as const),
  },
}

export type BlockStoreSettings = SettingValues<typeof BLOCK_STORE_SETTINGS>
