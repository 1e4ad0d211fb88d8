/**
 * node:os for `run`, imported where it is needed (`await import('./os.js')`): the bundle
 * evaluates this module, and with it loads node:os, at that first import. `run -- true` with
 * nothing to mask never needs it, and loading it costs about 0.2 ms. (An import() of node:os
 * itself would be left to Node's ES module loader, which the bundles do not use.)
 */
export {constants, tmpdir} from 'node:os'
