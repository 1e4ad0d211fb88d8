#!/usr/bin/env node
/**
 * `npm run build`'s step after tsc: dist/builtin-validators.cjs, the JSON Schema validators of the
 * built-in block types, compiled now by the Ajv keyflow uses at run time (createAjv, with code
 * emitted as source: Ajv's "standalone" validation code). Loading Ajv and compiling a schema costs
 * a block load about 100 ms on a cold start (`run --block`, `sql`, block:// references), which
 * the built-in types then skip; a type registered from a module still compiles at run time.
 * Each is exported under `SLUG@CHECKSUM`, so a validator is only ever used for the very schema it
 * was compiled from (src/lib/block/documents/validate.ts).
 */
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const DIST = join(ROOT, 'dist')
const standaloneCode = createRequire(import.meta.url)('ajv/dist/standalone').default
const {BUILTIN_TYPES} = await import(pathToFileURL(join(DIST, 'lib', 'block-types.js')).href)
const {createAjv} = await import(pathToFileURL(join(DIST, 'lib', 'block', 'types', 'definition.js')).href)

const ajv = createAjv({code: {source: true}})
const exported = {}
for (const type of BUILTIN_TYPES.values()) {
  const id = `keyflow-builtin-${type.slug}`
  ajv.addSchema(type.fields, id)
  exported[`${type.slug}@${type.checksum}`] = id
}

writeFileSync(join(DIST, 'builtin-validators.cjs'), standaloneCode(ajv, exported))
