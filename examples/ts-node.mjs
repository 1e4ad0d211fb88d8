// Runs TypeScript examples on Node 20 with ts-node's ESM hooks, registered the way Node asks
// for (`node --import ./examples/ts-node.mjs FILE.ts`): `--loader ts-node/esm` works too but
// prints an ExperimentalWarning on every run.
// eslint-disable-next-line n/no-unsupported-features/node-builtins -- register() is what Node 20.6+ recommends over --loader
import {register} from 'node:module'

register('ts-node/esm', import.meta.url)
