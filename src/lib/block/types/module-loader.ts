import {existsSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, extname, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {ExitCode, KeyflowError} from '../../errors.js'
import {importModule} from '../../util/import-module.js'
import {isPlainObject, readJsonFile} from '../../util/json.js'

/**
 * Finds block type definitions in a Node module or a file (docs/blocks.md "Defining block
 * types"). A definition is a plain object with a `slug`; a module may export them as its
 * default export, as named exports, or as arrays of them. Other exports are ignored, as
 * Prefect ignores module members that are not Block classes.
 */

const looksLikeDefinition = (value: unknown) => isPlainObject(value) && 'slug' in value
const looksLikeList = (value: unknown) => Array.isArray(value) && value.length > 0 && value.every((item) => looksLikeDefinition(item))

export function definitionsIn(namespace: Record<string, unknown>): unknown[] {
  const found: unknown[] = []
  const take = (value: unknown) => {
    if (looksLikeDefinition(value)) found.push(value)
    else if (looksLikeList(value)) found.push(...(value as unknown[]))
  }

  const {default: main, ...named} = namespace
  take(main)
  // CommonJS `module.exports = {a, b}` arrives as the default export.
  if (isPlainObject(main) && !looksLikeDefinition(main)) for (const value of Object.values(main)) take(value)
  for (const key of Object.keys(named).sort()) take(named[key])
  return [...new Set(found)]
}

function unableToLoad(what: string, error: unknown, step = 'importing it'): KeyflowError {
  const kind = error instanceof Error ? error.name : 'error'
  return new KeyflowError(`Unable to load ${what}. Please make sure the module is installed in your current environment.`, {
    cause: error,
    code: 'MODULE_LOAD_FAILED',
    // Only the error's class: its message may quote the module's code or data.
    details: [`${step} threw ${kind}`],
    exit: ExitCode.USAGE,
    fix: 'Check that it imports without errors: node -e "import(\'MODULE\')". Run with KEYFLOW_DEBUG=1 to see the error.',
    where: what,
  })
}

/** The file `import` of a package directory loads: its exports' import/default entry, else main, else index.js. */
function packageEntry(dir: string): string {
  const manifest = join(dir, 'package.json')
  if (!existsSync(manifest)) return join(dir, 'index.js')
  const pkg = readJsonFile(manifest, 'package.json') as {exports?: unknown; main?: string}
  const root = isPlainObject(pkg.exports) && '.' in pkg.exports ? pkg.exports['.'] : pkg.exports
  const entry = typeof root === 'string' ? root : isPlainObject(root) ? (root.import ?? root.default) : undefined
  return join(dir, typeof entry === 'string' ? entry : (pkg.main ?? 'index.js'))
}

/** A package name resolved like `import` would from `cwd`, falling back to its package.json. */
function resolvePackage(name: string, cwd: string): string {
  try {
    return createRequire(join(cwd, 'noop.js')).resolve(name)
  } catch {}

  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const installed = join(dir, 'node_modules', name)
    if (existsSync(join(installed, 'package.json'))) return packageEntry(installed)
    if (dirname(dir) === dir) break
  }

  throw new KeyflowError(`Unable to load ${name}. Please make sure the module is installed in your current environment.`, {
    code: 'MODULE_NOT_FOUND',
    exit: ExitCode.USAGE,
    fix: `Install it (npm install ${name}) in ${cwd} or a parent directory, or give a path: -m ./path/to/module.js`,
    where: cwd,
  })
}

/** The definitions a module exports; a getter that throws or a Proxy that refuses to list its keys is the module's failure, not keyflow's. */
async function importDefinitions(path: string, what: string): Promise<unknown[]> {
  let namespace: Record<string, unknown>
  try {
    namespace = await importModule<Record<string, unknown>>(pathToFileURL(path).href)
  } catch (error) {
    throw unableToLoad(what, error)
  }

  try {
    return definitionsIn(namespace)
  } catch (error) {
    throw unableToLoad(what, error, 'reading its exports')
  }
}

export async function loadModuleDefinitions(specifier: string, cwd: string): Promise<unknown[]> {
  const isPath = specifier.startsWith('.') || specifier.startsWith('/') || existsSync(resolve(cwd, specifier))
  let path = isPath ? resolve(cwd, specifier) : resolvePackage(specifier, cwd)
  if (isPath && !existsSync(path)) {
    throw new KeyflowError(`Unable to load ${specifier}: no such file or directory.`, {code: 'MODULE_NOT_FOUND', exit: ExitCode.USAGE, fix: 'Check the path.', where: path})
  }

  if (statSync(path).isDirectory()) path = packageEntry(path)
  return importDefinitions(path, specifier)
}

const FILE_TYPES = new Set(['.cjs', '.js', '.json', '.mjs'])

export async function loadFileDefinitions(file: string, cwd: string): Promise<unknown[]> {
  const path = resolve(cwd, file)
  if (!FILE_TYPES.has(extname(path))) {
    throw new KeyflowError(`${file} is not a .js, .mjs, .cjs or .json file. Please specify a file that contains block types to be registered.`, {
      code: 'USAGE',
      exit: ExitCode.USAGE,
      fix: 'Give a JavaScript module or a JSON file holding one definition or a list of them.',
      where: path,
    })
  }

  if (!existsSync(path)) {
    throw new KeyflowError(`${file}: no such file.`, {code: 'FILE_NOT_FOUND', exit: ExitCode.NOT_FOUND, fix: 'Check the path.', where: path})
  }

  if (extname(path) === '.json') {
    const content = readJsonFile(path, 'block type file')
    return Array.isArray(content) ? content : [content]
  }

  return importDefinitions(path, file)
}
