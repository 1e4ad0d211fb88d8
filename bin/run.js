#!/bin/sh
":" // ; exec node -- "$0" "$@"
// The two lines above are sh and JavaScript at once: sh runs `node -- THIS_FILE ARGS`, and
// JavaScript sees a string and a comment. A portable shebang cannot pass `--` to node itself
// (BusyBox and macOS before 12 have no `env -S`), and without `--` Node 20 checks any
// `--env-file X` among the script's arguments (ours included) and exits 9 if X is missing
// (nodejs/node#54232). Run by `node bin/run.js`, the file is JavaScript from the start.
//
// CommonJS (bin/package.json), so a fast command never starts Node's ESM loader, and each
// path is one bundle that `npm run build` makes (scripts/bundle.mjs), compiled from its code
// cache by the loader below. The loader is in this file, not a module of its own: resolving,
// reading and compiling a second module cost every `secret get` about 0.4 ms (docs/performance.md).
// Required (scripts/code-cache.cjs, the tests), this file only exports the loader.
//
// The loader: one of dist/'s CommonJS bundles (scripts/bundle.mjs), loaded as require() would load it, but compiled
// from the V8 code cache `npm run build` wrote next to it: compiling a bundle is most of what a
// command costs over `node -e 0` before it does anything (docs/performance.md), and Node 20
// has no compile cache of its own (module.enableCompileCache is Node 22). No V8 or Node flag is
// touched: vm.Script takes the cache as an argument.
//
// The cache is trusted as the bundle is: both are build output in the same directory. It is used
// only when it starts with the bundle's first line, which names the build (a fresh id each
// time), and it is known to belong to the bundle's bytes (below); V8 itself rejects a cache made
// by another V8 or under other V8 flags. Without a usable cache the bundle is compiled from its
// source, as require() would.
const {closeSync, constants: fsConstants, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {dirname, join} = require('node:path')
const vm = require('node:vm')

const cacheFile = (file) => `${file}.v8-cache`
const stampFile = (file) => `${file}.v8-stamp`

/**
 * V8 checks a cache's length, version and flags but not its bytes: a damaged cache crashes the
 * deserializer (SIGTRAP, SIGSEGV), and a bundle edited in place to the same length would run
 * the old code. So a cache is used only if the CRC-32 of the bundle's source and the cache's
 * payload matches the one written with it. That check loads node:zlib, and with it node:stream:
 * about a tenth of `node -e 0`, on every start. So once a pair has passed it (or the build has
 * written it), the stamp file next to them records the pair's identity (device, inode, size, and
 * modification and change times in nanoseconds, of each); while both files still show it, the
 * pair has not been written since, and the check is not repeated, as git's index judges a file by
 * its stat. The change time is the part no one can set: `touch -r`, `cp -p` or a restore put back
 * a modification time over changed bytes (and a damaged cache then crashes every start), but any
 * write or utimes moves the change time, and a file renamed into place has another inode. The
 * stamp is a claim about the files, never a part of them: a stamp that no longer matches only
 * costs the check (and is then written again, where dist/ is writable; a package npm installed
 * or a copied tree has other inodes and times than the build's). (zlib.crc32 is in Node 20.15+;
 * without it a cache is used only as stamped.)
 */
const CHECKSUM_BYTES = 9
const checksum = (source, payload) => {
  // eslint-disable-next-line n/no-unsupported-features/node-builtins -- checked for: no cache without it
  const {crc32} = require('node:zlib')
  return crc32 ? `${crc32(payload, crc32(source)).toString(16).padStart(8, '0')}\n` : 'none'
}

/**
 * What the loader reads is opened without waiting (O_NONBLOCK: opening a FIFO for reading would
 * otherwise wait for a writer, and every start would hang), and used only if what was opened is
 * a regular file of at most `maxBytes`: a FIFO, a directory, a device or a file that grew huge in
 * dist/ costs the cache (a start compiles from source, as with a damaged cache), never the start.
 * The type and size come from the fstat the identity needs anyway: no extra system call.
 */
// eslint-disable-next-line no-bitwise -- open(2) flags
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK
/** A code cache is about 0.4 to 1.4 times its bundle's source (dist/ now): eight times is no cache. */
const MAX_CACHE_PER_SOURCE_BYTE = 8

/**
 * A file's bytes and its identity for the stamp, both from the one descriptor; no identity if
 * the file changed while it was read (its stat before and after differ). Throws for what is
 * not a regular file of at most `maxBytes` (READ_FLAGS): the caller's catch falls back to no cache.
 */
function readWithIdentity(file, maxBytes = Infinity) {
  const fd = openSync(file, READ_FLAGS)
  try {
    const identity = (stats) => `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`
    const stats = fstatSync(fd, {bigint: true})
    if (!stats.isFile() || stats.size > maxBytes) throw new Error(`${file} is not a regular file${maxBytes === Infinity ? '' : ` of at most ${maxBytes} bytes`}.`)
    const before = identity(stats)
    const bytes = readBytes(fd, Number(stats.size))
    return {bytes, identity: before === identity(fstatSync(fd, {bigint: true})) ? before : undefined}
  } finally {
    closeSync(fd)
  }
}

/** The first `size` bytes at `fd` (fewer where the file is shorter now): never more, however it grew. */
function readBytes(fd, size) {
  const bytes = Buffer.allocUnsafe(size)
  let read = 0
  for (let got = -1; read < size && got !== 0; read += got) got = readSync(fd, bytes, read, size - read, read)
  return read === size ? bytes : bytes.subarray(0, read)
}

/** The stamp at `path` if it is `expected`: read only if it is a regular file of that size (READ_FLAGS). */
function hasStamp(path, expected) {
  try {
    const fd = openSync(path, READ_FLAGS)
    try {
      const stats = fstatSync(fd)
      return stats.isFile() && stats.size === expected.length && readBytes(fd, stats.size).toString('latin1') === expected
    } finally {
      closeSync(fd)
    }
  } catch {
    return false
  }
}

const stampOf = (bundle, cache) => (bundle.identity && cache.identity ? `${bundle.identity} ${cache.identity}\n` : undefined)

/**
 * Best effort: without a stamp (dist/ read-only, say) the next start checks the checksum again.
 * The temporary file is made afresh ('wx': O_CREAT|O_EXCL, which follows no link), never opened
 * where something already is: its name is predictable, and a link left there would have this
 * process write through it to wherever it points.
 */
function writeStamp(path, stamp) {
  const temporary = `${path}.${process.pid}`
  try {
    writeFileSync(temporary, stamp, {flag: 'wx'})
    renameSync(temporary, path)
  } catch {
    rmSync(temporary, {force: true})
  }
}

const buildLine = (source) => source.slice(0, source.indexOf('\n') + 1)

/** import() from an ordinary module, for the bundle's own (src/lib/util/import-module.ts). */
const importModule = (specifier) => import(specifier)

function compile(file, source, cachedData) {
  // require()'s wrapper, on the source's first line so that line numbers hold, and __keyflowImport.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __keyflowImport) { ${source}\n})`
  // The main context's loader serves an import() left in bundled packages (oclif's, for ES module
  // plugins keyflow has none of): never reached, and where Node has the constant only.
  // eslint-disable-next-line n/no-unsupported-features/node-builtins -- read only where it exists
  return new vm.Script(wrapped, {cachedData, filename: file, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER})
}

/** The lazy part of the fast-path bundle at `file` (scripts/bundle.mjs, LAZY). */
const lazyPart = (file) => file.replace(/\.cjs$/, '-lazy.cjs')
/** A module of a fast-path bundle's lazy part, for the bundle, and one of the bundle's, for its lazy part. */
const LAZY_PREFIX = 'keyflow-lazy:'
const SHARED_PREFIX = 'keyflow-shared:'

/**
 * The require() of a fast-path bundle or its lazy part: this file's own, but for their modules
 * of each other's (scripts/bundle.mjs, LAZY). A lazy module (`keyflow-lazy:ID`) comes from the
 * bundle's lazy part, evaluated at the first such call, which exports a function for each that
 * evaluates it; a lazy part's import of a module the bundle holds (`keyflow-shared:ID`) gets the
 * bundle's own instance of it, from `shared`, what the bundle's __keyflowShared() gave.
 */
function partsRequire(file, loaded, shared) {
  return (id) => {
    if (id.startsWith(SHARED_PREFIX)) return shared[id.slice(SHARED_PREFIX.length)]
    if (id.startsWith(LAZY_PREFIX)) return loadBundle(lazyPart(file), {shared: loaded.exports.__keyflowShared()}).modules[id.slice(LAZY_PREFIX.length)]()
    return require(id)
  }
}

/**
 * Evaluates the compiled bundle. `requirable`: into the module require() would have made, under
 * the same cache key, for a bundle that is also require()d by its path (oclif loads
 * dist/oclif.cjs itself: package.json's oclif.commands). Otherwise into a plain module object,
 * with this file's require() (partsRequire): making a Module and a require() of its own costs
 * about 0.1 ms, 2% of a `secret get`, and the fast path's bundles require() only Node's built-in
 * modules, packages, which resolve from bin/ as from dist/ (scripts/bundle.mjs checks they have
 * no relative require()), and each other's modules. `shared`: a lazy part's bundle's modules.
 */
function evaluate(file, script, {requirable = false, shared} = {}) {
  const loaded = requirable ? new Module(file, module) : {exports: {}}
  if (requirable) {
    loaded.filename = file
    require.cache[file] = loaded
  }

  try {
    script.runInThisContext().call(loaded.exports, loaded.exports, requirable ? Module.createRequire(file) : partsRequire(file, loaded, shared), loaded, file, dirname(file), importModule)
  } catch (error) {
    delete require.cache[file]
    throw error
  }

  loaded.loaded = true
  return loaded.exports
}

/** Each bundle this process evaluated: its exports, and whether it is in require.cache. */
const evaluated = new Map()

/**
 * The exports of the bundle at `file` (an absolute path), compiled from its cache and evaluated
 * once per process: as require(file) gives them, and in require.cache, where `requirable`
 * (evaluate() says when). Asked for both ways, it would be two copies of one bundle: an error.
 * `shared`: for a lazy part, its bundle's modules (partsRequire).
 */
function loadBundle(file, {requirable = false, shared} = {}) {
  const earlier = evaluated.get(file)
  if (earlier && earlier.requirable !== requirable) throw new Error(`${file} was loaded ${earlier.requirable ? '' : 'not '}requirable before.`)
  if (earlier) return earlier.exports
  const bundle = readWithIdentity(file)
  const source = bundle.bytes.toString('utf8')
  const line = buildLine(source)
  let cachedData
  try {
    const cache = readWithIdentity(cacheFile(file), MAX_CACHE_PER_SOURCE_BYTE * bundle.bytes.length)
    const start = Buffer.byteLength(line) + CHECKSUM_BYTES
    const payload = cache.bytes.subarray(start)
    const header = cache.bytes.subarray(0, start).toString('latin1')
    const stamp = stampOf(bundle, cache)
    if (line !== '' && header.startsWith(line)) {
      if (stamp !== undefined && hasStamp(stampFile(file), stamp)) cachedData = payload
      else if (header === line + checksum(source, payload)) {
        cachedData = payload
        if (stamp !== undefined) writeStamp(stampFile(file), stamp)
      }
    }
  } catch {}

  const exports = evaluate(file, compile(file, source, cachedData), {requirable, shared})
  evaluated.set(file, {exports, requirable})
  return exports
}

/**
 * `npm run build` (scripts/code-cache.cjs): compiles and evaluates the bundle at `file` (as
 * loadBundle would with `options`, and as the bundle loadBundle gives from then on: a lazy part
 * its fast bundle loads during the exercise is this one), lets `exercise` run commands with its
 * exports (so the functions they call are compiled too), and writes the code cache V8 then has
 * for it, headed by the bundle's build line.
 */
async function writeCodeCache(file, exercise, options = {}) {
  const source = readFileSync(file, 'utf8')
  const line = buildLine(source)
  if (!line.startsWith('// keyflow build ')) throw new Error(`${file} does not start with its build line.`)
  const script = compile(file, source)
  const exports = evaluate(file, script, options)
  evaluated.set(file, {exports, requirable: options.requirable ?? false})
  await exercise(exports)
  const payload = script.createCachedData()
  writeFileSync(cacheFile(file), Buffer.concat([Buffer.from(line + checksum(source, payload), 'latin1'), payload]))
  const stamp = stampOf(readWithIdentity(file), readWithIdentity(cacheFile(file)))
  if (stamp !== undefined) writeStamp(stampFile(file), stamp)
}

const argv = process.argv.slice(2)
const bundle = (name) => loadBundle(join(__dirname, '..', 'dist', `${name}.cjs`), {requirable: name === 'oclif'})

/** keyflow itself: the fast path's bundle for the command, or oclif's. */
async function main() {
  if (argv[0] === '__complete') {
    // The completion scripts' question, on every TAB: answered without loading oclif.
    await bundle('fast-path-get').runCompletion(argv.slice(1))
    return
  }

  // The hottest calls skip loading oclif; see src/fast-path.ts. `run` has a bundle of its own
  // (scripts/bundle.mjs), so neither command compiles the other's functions.
  if (await bundle(argv[0] === 'run' ? 'fast-path-run' : 'fast-path-get').runFastPath(argv)) return
  // Everything else: oclif, its commands and hooks, from one bundle (package.json's oclif.commands).
  await bundle('oclif').run(join(__dirname, '..'))
  // The command is done: a timer or socket left by a block module it loaded must not keep
  // keyflow running. Both streams are drained first, so no output is lost.
  // Only what waits to be written: an empty write to a full disk (/dev/full) fails, and would
  // turn a command that wrote nothing to stdout into keyflow's output error (exit 74). With
  // nothing waiting, a turn of the event loop instead: a write that failed (a file's writes are
  // synchronous) reports its error on the next tick, which must come before the exit.
  const drain = (stream) =>
    new Promise((resolve) => {
      if (stream.writableLength === 0 || stream.destroyed) setImmediate(resolve)
      else stream.write('', resolve)
    })
  await Promise.all([drain(process.stdout), drain(process.stderr)])
  // eslint-disable-next-line n/no-process-exit
  process.exit()
}

if (require.main === module) main()
else module.exports = {cacheFile, loadBundle, writeCodeCache}
