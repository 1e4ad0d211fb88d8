import {join} from 'node:path'

import {connectFromSettings} from '../aws/connection.js'
import {credentialsFailure} from '../aws/errors.js'
import {keyflowHome, ResolvedSettings, resolveSettings, settingsFlags} from '../settings/settings.js'
import {Keyring} from './crypto.js'
import {Registry} from './registry.js'
import {AwsStore} from './store/aws.js'
import {LocalStore} from './store/local.js'
import {BlockStore, StoreKind} from './store/store.js'

/** What every block operation works on: the store, the master key and the type registry. */
export interface BlockContext {
  env: NodeJS.ProcessEnv
  home: string
  keyring: Keyring
  registry: Registry
  store: BlockStore
}

export interface BlockContextOptions {
  env?: NodeJS.ProcessEnv
  /** Settings already resolved (they choose the store); resolved from `env` when absent. */
  settings?: ResolvedSettings
  /** A store, or which one; default: the `blocks.store` setting (local unless set). */
  store?: BlockStore | StoreKind
}

/** The store the settings (or `kind`) name: $KEYFLOW_HOME/blocks, or Secrets Manager under `blocks.prefix`. */
export function storeFor(settings: ResolvedSettings, kind: StoreKind = settings.blockStore): BlockStore {
  if (kind === 'local') return new LocalStore(join(settings.home, 'blocks'))
  const connect = connectFromSettings(settings)
  return new AwsStore({
    attempts: settings.awsMaxAttempts,
    async connect() {
      const api = await connect()
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

export function openBlocks(options: BlockContextOptions = {}): BlockContext {
  const env = options.settings?.env ?? options.env ?? process.env
  let store: BlockStore
  if (typeof options.store === 'object') store = options.store
  else {
    const settings = options.settings ?? resolveSettings({env})
    store = storeFor(settings, options.store)
  }

  const home = options.settings?.home ?? keyflowHome(env)
  return {env, home, keyring: new Keyring(home, env), registry: new Registry(store), store}
}

/** The block context of a command: its --store, --region and --profile flags over the settings. */
export function openBlocksFor(flags: Record<string, unknown>): BlockContext {
  return openBlocks({settings: resolveSettings({flags: settingsFlags(flags)})})
}
