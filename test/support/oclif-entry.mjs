// bin/run.js without its fast path: every command goes through oclif, so tests can check
// that both paths give the same stdout, stderr and exit code.
import {execute} from '@oclif/core'

await execute({dir: new URL('../../bin/run.js', import.meta.url).href})
