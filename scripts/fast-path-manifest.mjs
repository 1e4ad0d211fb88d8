#!/usr/bin/env node
/**
 * `npm run build`'s step after `oclif manifest`: dist/fast-path.json, the commands of
 * oclif.manifest.json marked `static fastPath` (their flag specs included), which
 * src/fast-path.ts parses at every `secret get` and `run` instead of the whole manifest. Only
 * what its parser reads is kept (ManifestCommand and ManifestFlag there): descriptions, summaries
 * and examples would be most of the file, read and parsed at every start for nothing.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const {commands} = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
const FLAG_KEYS = ['allowNo', 'char', 'default', 'multiple', 'name', 'options', 'type']
const pick = (object, keys) => Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]))
const fast = Object.fromEntries(
  Object.entries(commands)
    .filter(([, command]) => command.fastPath)
    .map(([id, command]) => [id, {fastPath: command.fastPath, flags: Object.fromEntries(Object.entries(command.flags).map(([name, flag]) => [name, pick(flag, FLAG_KEYS)])), id}]),
)
writeFileSync(join(ROOT, 'dist', 'fast-path.json'), JSON.stringify({commands: fast}))
