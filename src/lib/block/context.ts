import {join} from 'node:path'

import type {Prompter} from './documents/operations.js'

import {checkHome} from '../settings/settings.js'
import {Keyring} from './keys/crypto.js'
import {AuthenticatedStore} from './store/authenticated.js'
import {LocalStore} from './store/local.js'
import {BlockStore} from './store/store.js'
import {BuiltinTypes} from './types/builtin.js'
import {Registry} from './types/registry.js'

/** What every block operation works on: the store, the master key, the type registry, and who to ask. */
export interface BlockContext {
  env: NodeJS.ProcessEnv
  home: string
  keyring: Keyring
  prompter: Prompter
  registry: Registry
  /** Every record authenticated (store/authenticated.ts), whatever store holds it. */
  store: AuthenticatedStore
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
  checkHome(home)
  const keyring = new Keyring(home, env)
  const store = new AuthenticatedStore(options.store ?? new LocalStore(join(home, 'blocks')), keyring)
  return {env, home, keyring, prompter: options.prompter ?? NO_PROMPTER, registry: new Registry(store, options.builtins), store}
}
