import {createRequire} from 'node:module'

/**
 * A Node built-in module, loaded synchronously where it is first needed rather than with the
 * module that needs it: node:os and node:tty each cost 0.2 ms or more to load, and most
 * commands never use them. process.getBuiltinModule (Node 20.16+) asks nothing of the module
 * system; on an older Node 20 a require() serves.
 */
export function builtin<Module>(id: `node:${string}`): Module {
  // eslint-disable-next-line n/no-unsupported-features/node-builtins -- checked for: older Node 20 has none
  return (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : createRequire(import.meta.url)(id)) as Module
}

/**
 * node:crypto (about 3 ms to load, with node:stream), for modules a fast bundle shares with its
 * lazy part: the part's first import evaluates every one of them (scripts/bundle.mjs), so none
 * may load it when evaluated, only when it first hashes or encrypts.
 */
export const nodeCrypto = () => builtin<typeof import('node:crypto')>('node:crypto')
