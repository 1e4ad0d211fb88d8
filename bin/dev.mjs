#!/usr/bin/env -S node --loader ts-node/esm --disable-warning=ExperimentalWarning
import {execute} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

// The package root, not this file: oclif would take bin/package.json for the CLI's own.
const root = fileURLToPath(new URL('..', import.meta.url))
// package.json names the built bundle (scripts/bundle.mjs); here oclif finds the TypeScript
// sources the default way, by their place under src/commands and src/hooks.
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif.commands = './dist/commands'
pjson.oclif.hooks = {'command_not_found': './dist/hooks/command-not-found', init: './dist/hooks/version-json'}
await execute({development: true, loadOptions: {pjson, root}})
