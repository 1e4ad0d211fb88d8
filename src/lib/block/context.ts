import {join} from 'node:path'

import type {ConnectSecretsManager} from '../secret/source.js'
import type {AwsSettings} from '../secret/sources/aws.js'
import type {Prompter} from './documents/operations.js'
import type {BlockStoreSettings} from './store/settings.js'

import {connectFromSettings} from '../aws/connection.js'
import {credentialsFailure} from '../aws/errors.js'
import {isStoreApi} from '../aws/secrets-manager.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {Keyring} from './keys/crypto.js'
import {AwsStore} from './store/aws.js'
import {LocalStore} from './store/local.js'
import {BlockStore, StoreKind} from './store/store.js'
import {BuiltinTypes} from './types/builtin.js'
import {Registry} from './types/registry.js'

/** What every block operation works on: the store, the master key, the type registry, and who to ask. */
export interface BlockContext {
  env: NodeJS.ProcessEnv
  home: string
  keyring: Keyring
  prompter: Prompter
  registry: Registry
  store: BlockStore
}

export interface BlockContextOptions {
  /** The built-in types (src/lib/block-types.ts registers them from their domains). */
  builtins: BuiltinTypes
  env: NodeJS.ProcessEnv
  home: string
  prompter?: Prompter
  /** Another store implementation; default: the local store under $KEYFLOW_HOME/blocks. */
  store?: BlockStore
}

/** A prompter for where nobody can answer (pipes, libraries): prompts are skipped or refused. */
export const NO_PROMPTER: Prompter = {
  async ask() {
    throw new Error('no terminal to ask')
  },
  canPrompt: () => false,
  async confirm() {
    return false
  },
}

export function openBlocks(options: BlockContextOptions): BlockContext {
  const {env, home} = options
  const store = options.store ?? new LocalStore(join(home, 'blocks'))
  return {env, home, keyring: new Keyring(home, env), prompter: options.prompter ?? NO_PROMPTER, registry: new Registry(store, options.builtins), store}
}

/** The store `kind` names: $KEYFLOW_HOME/blocks, or Secrets Manager under `blocks.prefix` (docs/blocks.md "The aws store"). */
export function storeFor(kind: StoreKind, settings: AwsSettings & BlockStoreSettings, connectSecretsManager?: ConnectSecretsManager): BlockStore {
  if (kind === 'local') return new LocalStore(join(settings.home, 'blocks'))
  const connect = connectFromSettings(settings, connectSecretsManager)
  return new AwsStore({
    attempts: settings.awsMaxAttempts,
    async connect() {
      const api = await connect()
      // A Secrets Manager client injected for the chain alone (a test's fake) cannot back a store.
      if (!isStoreApi(api)) throw new KeyflowError('The Secrets Manager client in use cannot write: the aws block store needs the full client.', {code: 'INTERNAL', exit: ExitCode.INTERNAL})
      // A set-up that fails (an expired SSO session) is a failure naming the profile, as in the chain.
      await api.checkConfigured().catch((error: unknown) => {
        throw credentialsFailure(error, settings.awsProfile)
      })
      return api
    },
    kmsKeyId: settings.blocksKmsKeyId,
    prefix: settings.blocksPrefix,
    region: settings.awsRegion,
    tags: settings.blocksTags,
  })
}
