// bin/run.js without its fast path: every command goes through oclif (the same bundle bin/run.js
// loads, the same way), so tests can check that both paths give the same stdout, stderr and exit code.
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

const require = createRequire(import.meta.url)
await require('../../bin/run.js').loadBundle(require.resolve('../../dist/oclif.cjs'), {requirable: true}).run(fileURLToPath(new URL('../..', import.meta.url)))
