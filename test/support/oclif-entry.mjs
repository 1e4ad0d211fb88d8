// bin/run.js without its fast path: every command goes through oclif, so tests can check
// that both paths give the same stdout, stderr and exit code.
import {execute} from '@oclif/core'

// The package root: oclif would take bin/package.json for the CLI's own.
await execute({dir: new URL('../..', import.meta.url).href})
