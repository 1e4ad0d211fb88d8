import {join} from 'node:path'

import {keyflowHome} from '../settings/settings.js'
import {Keyring} from './crypto.js'
import {Registry} from './registry.js'
import {LocalStore} from './store/local.js'
import {BlockStore} from './store/store.js'

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
  /** Another store implementation; default: the local store under $KEYFLOW_HOME/blocks. */
  store?: BlockStore
}

export function openBlocks(options: BlockContextOptions = {}): BlockContext {
  const env = options.env ?? process.env
  const home = keyflowHome(env)
  const store = options.store ?? new LocalStore(join(home, 'blocks'))
  return {env, home, keyring: new Keyring(home, env), registry: new Registry(store), store}
}
