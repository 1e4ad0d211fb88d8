#!/usr/bin/env -S node --loader ts-node/esm --disable-warning=ExperimentalWarning
import {execute} from '@oclif/core'

// The package root, not this file: oclif would take bin/package.json for the CLI's own.
await execute({development: true, dir: new URL('..', import.meta.url).href})
