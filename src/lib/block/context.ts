import {join} from 'node:path'

import type {CacheSettings} from '../cache/layer.js'
import type {ConnectSecretsManager, SourcePlugin} from '../secret/source.js'
import type {AwsSettings} from '../secret/sources/aws.js'
import type {Prompter} from './documents/operations.js'
import type {AwsStoreOptions} from './store/aws.js'
import type {BlockStoreSettings} from './store/settings.js'

import {credentialsFailure} from '../aws/errors.js'
import {connectAws} from '../secret/sources/aws.js'
import {BUILTIN_SOURCES} from '../secret/sources/index.js'
import {checkHome} from '../settings/settings.js'
import {Keyring} from './keys/crypto.js'
import {AuthenticatedStore} from './store/authenticated.js'
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
  /** The invocation's source plug-ins: the reference schemes a secret field may hold. */
  plugins: readonly SourcePlugin[]
  prompter: Prompter
  registry: Registry
  /**
   * The local store with every record authenticated (store/authenticated.ts) under the master
   * key; the aws store as it is: KMS encrypts there, and IAM and CloudTrail guard integrity.
   */
  store: BlockStore
}

export interface BlockContextOptions {
  /** The built-in types (src/lib/block-types.ts registers them from their domains). */
  builtins: BuiltinTypes
  env: NodeJS.ProcessEnv
  home: string
  /** The invocation's source plug-ins; default: the built-in sources. */
  plugins?: readonly SourcePlugin[]
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
  checkHome(home)
  const keyring = new Keyring(home, env)
  const inner = options.store ?? new LocalStore(join(home, 'blocks'))
  const store = inner.encryption === 'keyring' ? new AuthenticatedStore(inner, keyring) : inner
  return {env, home, keyring, plugins: options.plugins ?? BUILTIN_SOURCES, prompter: options.prompter ?? NO_PROMPTER, registry: new Registry(store, options.builtins), store}
}

/** The store `kind` names: $KEYFLOW_HOME/blocks, or Secrets Manager under `blocks.prefix` (docs/blocks.md "The aws store"). */
export function storeFor(
  kind: StoreKind,
  settings: AwsSettings & BlockStoreSettings & CacheSettings,
  {cache, connectSecretsManager}: {cache?: AwsStoreOptions['cache']; connectSecretsManager?: ConnectSecretsManager} = {},
): BlockStore {
  if (kind === 'local') return new LocalStore(join(settings.home, 'blocks'))
  return new AwsStore({
    attempts: settings.awsMaxAttempts,
    cache,
    async connect() {
      const api = await connectAws(settings, {connect: connectSecretsManager})
      // A set-up that fails (an expired SSO session) is a failure naming the profile, as in the chain.
      await api.checkConfigured().catch((error: unknown) => {
        throw credentialsFailure(error, settings.awsProfile)
      })
      return api
    },
    kmsKeyId: settings.blocksKmsKeyId,
    offline: settings.offline === true,
    prefix: settings.blocksPrefix,
    region: settings.awsRegion,
    tags: settings.blocksTags,
  })
}
