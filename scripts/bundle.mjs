#!/usr/bin/env node
/**
 * `npm run build`'s step between tsc and `oclif manifest` (which reads dist/oclif.cjs), and with
 * the argument `fast-path` its step after it: CommonJS esbuild bundles of the entry points
 * bin/run.js loads, made from the same sources tsc compiled. A bundle is one file to read and compile where Node's
 * ESM loader would resolve, read, link and compile each module one by one. dist/ is never
 * committed; `npm run build` in a clone and `prepack` for a package both make the bundles, so
 * esbuild is needed at build time only.
 *
 * CommonJS, not ESM: in a CommonJS bundle a module reached only by a dynamic import() is wrapped
 * and evaluated when first imported, with its node: requires, where an ES module bundle hoists
 * every import (node:crypto included) to the top. Packages that are heavy or native stay outside
 * and load, as before, only on the path that needs them.
 */
import {build} from 'esbuild'
import {randomUUID} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import {checkLazyPart} from './lazy-parts.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src')
const DIST = join(ROOT, 'dist')

/**
 * Each source's import.meta.url becomes the URL of its own compiled file in dist/, and its
 * import.meta.dirname that file's directory, so the paths it resolves against them
 * (oclif.manifest.json, completion/, createRequire) hold in a bundle too. The fast path reads
 * its files by import.meta.dirname: a URL costs node:url's pathToFileURL and a URL-to-path
 * conversion, about 3% of a `secret get`.
 */
const importMetaUrl = {
  name: 'import-meta-url',
  setup(build) {
    build.onLoad({filter: /\.ts$/}, async ({path}) => {
      const compiled = relative(SRC, path).replace(/\.ts$/, '.js')
      const contents = await readFile(path, 'utf8')
      return {
        contents: contents
          .replaceAll('import.meta.url', `__keyflowUrl(${JSON.stringify(compiled)})`)
          .replaceAll('import.meta.dirname', `__keyflowDir(${JSON.stringify(dirname(compiled))})`),
        loader: 'ts',
      }
    })
  },
}

/**
 * Packages whose module evaluation is costly, bundled but evaluated at their first call instead
 * of at start-up: string-width builds an Intl.Segmenter when loaded (~13 ms, a third of
 * `block ls`), though most tables are plain ASCII and many commands print none. Each is used by
 * keyflow through its default export, a function.
 */
const DEFERRED = ['string-width']

const deferred = {
  name: 'deferred',
  setup(build) {
    const filter = new RegExp(`^(${DEFERRED.join('|')})$`)
    // keyflow's imports get the deferring module; its own require() of the package does not.
    build.onResolve({filter}, ({importer, path}) => (importer.startsWith(SRC) ? {namespace: 'deferred', path} : undefined))
    build.onLoad({filter: /.*/, namespace: 'deferred'}, ({path}) => ({
      contents: `let loaded\nexport default (...args) => (loaded ??= require(${JSON.stringify(path)}).default)(...args)\n`,
      loader: 'js',
      resolveDir: ROOT,
    }))
  },
}

/**
 * Edits to @oclif/core's own files in the oclif bundle, each saving start-up time of every
 * command off the fast path, or (the last) keeping its exit code. Each `from` must be found as
 * written: the build fails if oclif's code changes under an edit, rather than losing the saving
 * (or worse) in silence.
 */
const OCLIF_EDITS = [
  {
    // oclif sorts the commands it loads by localeCompare: the first localeCompare of a process
    // loads ICU's collation data (~7 ms of CPU, a tenth of `block ls`). keyflow's command ids are
    // ASCII words and colons, which code-unit order sorts the same way
    // (test/unit/cli/command-order.test.ts checks it), so the bundle compares them so.
    file: 'config/plugin.js',
    from: 'a.id.localeCompare(b.id)',
    to: '(a.id < b.id ? -1 : a.id > b.id ? 1 : 0)',
  },
  {
    // tinyglobby (with fdir and picomatch) serves oclif's `pattern` command discovery only;
    // keyflow's is `explicit` (package.json), so it is evaluated when first used, never here.
    file: 'config/plugin.js',
    from: 'const tinyglobby_1 = require("tinyglobby");',
    to: 'const tinyglobby_1 = {get glob() { return require("tinyglobby").glob; }};',
  },
  {
    // The index checks at load that Node satisfies `engines.node` of the package.json one level
    // above its own file (in the bundle, keyflow's), through semver: all of it, some 40 modules
    // and their regular expressions, for one comparison. npm checks `engines` when keyflow is
    // installed, and the fast path never made this check.
    file: 'index.js',
    from: '\ncheckNodeVersion();\n',
    to: '\n',
  },
  {
    // The index warns at load when the working directory is gone; keyflow says so itself, as
    // an error (settings), and the fast path, which never loads oclif, the same way.
    file: 'index.js',
    from: '\ncheckCWD();\n',
    to: '\n',
  },
  {
    // oclif's flush after a command writes '' to stdout to wait for what is queued: an empty
    // write to a full disk (/dev/full) fails, and guardOutput would end a command that wrote
    // nothing to stdout with exit 74. Nothing queued, nothing to wait for.
    file: 'flush.js',
    from: "const flushed = process.stdout.write('');",
    to: "const flushed = process.stdout.writableLength === 0 || process.stdout.write('');",
  },
]

const oclifEdits = {
  name: 'oclif-edits',
  setup(build) {
    build.onLoad({filter: /@oclif[/\\]core[/\\]lib[/\\].*\.js$/}, async ({path}) => {
      const file = relative(join(ROOT, 'node_modules', '@oclif', 'core', 'lib'), path).split(sep).join('/')
      const edits = OCLIF_EDITS.filter((edit) => edit.file === file)
      if (edits.length === 0) return
      let contents = await readFile(path, 'utf8')
      for (const {from, to} of edits) {
        if (!contents.includes(from)) throw new Error(`${path} no longer contains ${JSON.stringify(from)}: review OCLIF_EDITS in scripts/bundle.mjs.`)
        contents = contents.replace(from, to)
      }

      return {contents, loader: 'js'}
    })
  },
}

/** Heavy or native packages: loaded, as before, only on the path that needs them. */
const EXTERNAL = ['@aws-sdk/*', '@inquirer/*', '@lydell/node-pty', 'ajv', 'node-pty', 'snowflake-sdk']

/**
 * Each bundle's first line names this build; bin/run.js uses a code cache only when it
 * names the same one.
 */
const BUILD_LINE = `// keyflow build ${randomUUID()}`

const common = {
  banner: {
    js: [
      BUILD_LINE,
      "const __keyflowUrl = (file) => require('node:url').pathToFileURL(require('node:path').join(__dirname, file)).href;",
      "const __keyflowDir = (dir) => require('node:path').join(__dirname, dir);",
    ].join('\n'),
  },
  bundle: true,
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  // Less for V8 to parse at every start; names are kept, so stack traces (KEYFLOW_DEBUG) still read.
  minifySyntax: true,
  minifyWhitespace: true,
  // Next to tsc's output, so paths relative to dist/ (package.json, node_modules) hold.
  outdir: DIST,
  outExtension: {'.js': '.cjs'},
  platform: 'node',
  plugins: [importMetaUrl, deferred],
  target: 'node20',
  tsconfig: join(ROOT, 'tsconfig.json'),
}

/**
 * Modules the fast commands reach only by import(), on paths that are not the hot ones (blocks,
 * the cache, AWS's client, a pseudo-terminal, --explain): each fast bundle leaves them to
 * a lazy part of its own, NAME-lazy.cjs, which bin/run.js loads at the first such
 * import(). esbuild declares every module's functions at its bundle's top level, so V8's code
 * cache holds each of them and deserializes it at every start, called or not: in the fast
 * bundles these modules cost `secret get` about 0.6 ms and `run` about 1.4 ms. The lazy part
 * shares the fast bundle's own instances of the modules both use (one KeyflowError class, one
 * set of settings), never copies of them. A module listed here that a fast bundle imports
 * statically fails the build.
 */
const LAZY = [
  'lib/aws/secrets-manager.ts',
  'lib/block-types.ts',
  'lib/block/context.ts',
  'lib/block/documents/input.ts',
  'lib/block/documents/load.ts',
  'lib/cache/manage.ts',
  'lib/cache/store.ts',
  'lib/run/blocks.ts',
  'lib/run/explain.ts',
  'lib/run/terminal.ts',
].map((file) => join(SRC, file))

/** A module's name between a fast bundle and its lazy part (bin/run.js): its path in dist/. */
const moduleId = (file) => relative(SRC, file).split(sep).join('/').replace(/\.ts$/, '.js')
/** How an entry in src/ imports `file`. */
const importPath = (file) => JSON.stringify(`./${relative(SRC, file).split(sep).join('/')}`)
/** The source file a relative import in src/ names (`./x.js` is ./x.ts), else undefined. */
const sourceOf = (importer, path) => (importer.startsWith(SRC) && path.startsWith('.') ? join(dirname(importer), path).replace(/\.js$/, '.ts') : undefined)
const LAZY_PREFIX = 'keyflow-lazy:'
const SHARED_PREFIX = 'keyflow-shared:'

/**
 * Imports in src/ of `files` become modules of the other bundle, which bin/run.js's
 * require() serves under `prefix` and their module id (`used` gets the ids): the fast bundle's
 * import() of a lazy module, the lazy part's imports of modules the fast bundle holds. An
 * import() goes through a CommonJS module of that one require() (esbuild then makes it a
 * require() in a promise, where it would leave import() of an external module to Node's own
 * loader); any other import is left external, so each use of an imported name reads it from
 * what require() gave. `refused` kinds of import of `files` fail the build.
 */
function elsewhere({files, prefix, refused = [], used = new Set()}) {
  return {
    name: `elsewhere-${prefix}`,
    setup(build) {
      build.onResolve({filter: new RegExp(`^${prefix}`)}, ({path}) => ({external: true, path}))
      build.onResolve({filter: /^\./}, ({importer, kind, path}) => {
        const file = sourceOf(importer, path)
        if (!file || !files.has(file)) return
        if (refused.includes(kind)) return {errors: [{text: `${relative(ROOT, importer)} imports ${moduleId(file)} (${kind}), which scripts/bundle.mjs's LAZY leaves out of the fast bundles.`}]}
        used.add(moduleId(file))
        return kind === 'dynamic-import' ? {namespace: prefix, path: moduleId(file)} : {external: true, path: prefix + moduleId(file)}
      })
      build.onLoad({filter: /.*/, namespace: prefix}, ({path}) => ({contents: `module.exports = require(${JSON.stringify(prefix + path)})`, loader: 'js'}))
    },
  }
}

/**
 * The names the lazy part built with `options` imports from each module the fast bundle holds,
 * by module id, read off an ES module build of it: a named import gives its names; any other
 * mention (a namespace import, a re-export, an import()) makes the value undefined, for the
 * module whole.
 */
async function sharedNames(options) {
  const {outputFiles} = await build({...options, format: 'esm', outfile: 'lazy.mjs', write: false})
  const names = new Map()
  const mention = new RegExp(String.raw`(?:import\s*\{([^}]*)\}\s*from\s*)?"${SHARED_PREFIX}([^"]+)"`, 'g')
  for (const [, list, id] of outputFiles[0].text.matchAll(mention)) {
    const whole = list === undefined || (names.has(id) && names.get(id) === undefined)
    names.set(id, whole ? undefined : [...(names.get(id) ?? []), ...list.split(',').map((item) => item.trim().split(/\s+as\s+/)[0])])
  }

  return names
}

/**
 * The modules the fast bundle gives its lazy part, sorted, each with the names the lazy part
 * imports of it (`names`: module id -> the names, or undefined for all): those of them it holds.
 */
const sharedModules = (held, names) =>
  [...held]
    .filter((file) => names.has(moduleId(file)))
    .sort()
    .map((file) => {
      const wanted = names.get(moduleId(file))
      return {file, id: moduleId(file), names: wanted && [...new Set(wanted)].sort()}
    })

/**
 * The module through which the fast bundle gives its lazy part its own modules (`shared`, from
 * sharedModules): for each, an object of getters of the names the lazy part imports, by module
 * id. The fast bundle require()s it when its lazy part is first loaded (bin/run.js), so none of
 * these modules is evaluated earlier than it would be. Getters in one object literal, not
 * namespace objects (esbuild's `import * as`), whose getters would be functions at the bundle's
 * top level: V8's code cache holds each of those, and a start pays for them all.
 */
function sharedView(shared) {
  const lines = []
  const members = []
  for (const [index, {file, id, names}] of shared.entries()) {
    if (names) {
      lines.push(`import {${names.map((name) => `${name} as s${index}_${name}`).join(', ')}} from ${importPath(file)}`)
      members.push(`  ${JSON.stringify(id)}: {${names.map((name) => `get ${name}() { return s${index}_${name} }`).join(', ')}},`)
    } else {
      lines.push(`import * as s${index} from ${importPath(file)}`)
      members.push(`  ${JSON.stringify(id)}: s${index},`)
    }
  }

  return [...lines, 'export const modules = {', ...members, '}', ''].join('\n')
}

/** The module `keyflow-shared-view`, whose text is `view`. */
const viewModule = (view) => ({
  name: 'shared-view',
  setup(build) {
    build.onResolve({filter: /^keyflow-shared-view$/}, () => ({namespace: 'keyflow-view', path: 'view'}))
    build.onLoad({filter: /.*/, namespace: 'keyflow-view'}, () => ({contents: view, loader: 'ts', resolveDir: SRC}))
  },
})

/**
 * The fast path's bundles, one per command it serves (src/fast-path.ts): V8 reads a bundle's code
 * cache whole, and every function of a bundle costs its start-up even when never called (its
 * SharedFunctionInfo is in the cache), about 0.6 ms per 100 KB here: `run`'s modules in
 * `secret get`'s bundle cost it 0.4 ms. Each has the fast commands' part of oclif.manifest.json
 * built in, so the parser reads no file at start: only what it reads is kept (ManifestCommand and
 * ManifestFlag there), as descriptions, summaries and examples would be most of it. So this stage
 * runs after `oclif manifest`, which reads dist/oclif.cjs from the first stage. Each bundle is
 * built twice, around its lazy part (LAZY): once to learn which modules it holds, then, once the
 * lazy part is built against those, again, exporting what the lazy part imports of them.
 */
async function fastPathBundles() {
  const {commands} = JSON.parse(await readFile(join(ROOT, 'oclif.manifest.json'), 'utf8'))
  const FLAG_KEYS = ['allowNo', 'char', 'default', 'multiple', 'name', 'options', 'type']
  const pick = (object, keys) => Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]))
  const fast = Object.entries(commands)
    .filter(([, command]) => command.fastPath)
    .map(([id, command]) => [id, {fastPath: command.fastPath, flags: Object.fromEntries(Object.entries(command.flags).map(([name, flag]) => [name, pick(flag, FLAG_KEYS)])), id}])
  const options = {
    ...common,
    absWorkingDir: ROOT,
    define: {FAST_PATH_MANIFEST: JSON.stringify(JSON.stringify({commands: Object.fromEntries(fast)}))},
    external: [...EXTERNAL, '@oclif/*'],
    outdir: undefined,
  }
  const lazy = new Set(LAZY)
  // `secret get` (with `--version` and completion), and `run`: bin/run.js loads one of them.
  await Promise.all(
    ['fast-path-get', 'fast-path-run'].map(async (name) => {
      const fastBundle = (view, imported) =>
        build({
          ...options,
          metafile: true,
          outfile: join(DIST, `${name}.cjs`),
          plugins: [...common.plugins, viewModule(view), elsewhere({files: lazy, prefix: LAZY_PREFIX, refused: ['import-statement', 'require-call'], used: imported})],
          stdin: {
            contents: [`export * from ${JSON.stringify(`./${name}.ts`)}`, "export const __keyflowShared = () => require('keyflow-shared-view').modules", ''].join('\n'),
            loader: 'ts',
            resolveDir: SRC,
            sourcefile: `${name}-entry.ts`,
          },
        })
      const imported = new Set()
      const {metafile} = await fastBundle('export const modules = {}', imported)
      const held = new Set(Object.keys(metafile.inputs).map((input) => join(ROOT, input)).filter((file) => file.startsWith(SRC)))
      const roots = LAZY.filter((file) => imported.has(moduleId(file)))
      // The lazy part's own modules, each evaluated at its first import().
      const lazyOptions = {
        ...options,
        outfile: join(DIST, `${name}-lazy.cjs`),
        plugins: [...common.plugins, elsewhere({files: held, prefix: SHARED_PREFIX})],
        stdin: {contents: ['export const modules = {', ...roots.map((file) => `  ${JSON.stringify(moduleId(file))}: () => require(${importPath(file)}),`), '}', ''].join('\n'), loader: 'ts', resolveDir: SRC, sourcefile: `${name}-lazy-entry.ts`},
      }
      await build(lazyOptions)
      const shared = sharedModules(held, await sharedNames(lazyOptions))
      checkLazyPart({
        part: relative(ROOT, lazyOptions.outfile),
        prefix: SHARED_PREFIX,
        text: await readFile(lazyOptions.outfile, 'utf8'),
        view: new Map(shared.map(({id, names}) => [id, names])),
      })
      await fastBundle(sharedView(shared), new Set())
    }),
  )
  await Promise.all(['fast-path-get', 'fast-path-run', 'fast-path-get-lazy', 'fast-path-run-lazy'].map((name) => checkPlainModule(join(DIST, `${name}.cjs`))))
}

/**
 * bin/run.js evaluates the fast path's bundles in a plain module object with its own
 * require() (its evaluate() says why), which serves a package or a built-in as the bundle's own
 * would, but not a relative path (resolved from bin/ instead of dist/), a computed name or
 * require()'s and module's other members. esbuild leaves none of those in these bundles today;
 * the build fails if one appears, rather than shipping a bundle that fails where it runs.
 */
async function checkPlainModule(file) {
  const text = await readFile(file, 'utf8')
  const uses = [
    ...text.matchAll(/\brequire\((?!"[^"./][^"]*"\)|'[^'./][^']*'\))[^)]{0,40}/g),
    ...text.matchAll(/\brequire\.\w+/g),
    ...text.matchAll(/\bmodule\.(?:children|filename|id|loaded|parent|path|paths|require)\b/g),
  ]
  if (uses.length > 0) throw new Error(`${file} uses ${uses.map(([use]) => use).join(', ')}: see evaluate() in bin/run.js.`)
}

/** A property that require()s a module's default export when first read. */
const getter = (name, path) => `  ${JSON.stringify(name)}: {enumerable: true, get: () => require(${JSON.stringify(path)}).default},`

/** camelCase of a file name: the identifier package.json's oclif.hooks give for src/hooks/NAME.ts. */
const identifier = (name) => name.replaceAll(/-(\w)/g, (_, letter) => letter.toUpperCase())

/**
 * Every other command: oclif and every command and hook in one bundle, which package.json's
 * oclif.commands names with oclif's `explicit` discovery strategy (and its hooks by identifier),
 * so oclif finds them in the module already loaded instead of reading, resolving and compiling
 * them, and oclif itself, file by file. Each command and hook is a getter that require()s its
 * module: esbuild keeps a required module unevaluated until then, so `--version` evaluates no
 * command and `block ls` only its own (oclif's manifest answers for the others). The ids are
 * the paths under src/commands, as oclif's default (pattern) discovery makes them, so the
 * directory stays the one list of commands.
 */
async function oclifEntry() {
  const commands = (await readdir(join(SRC, 'commands'), {recursive: true})).filter((file) => file.endsWith('.ts')).sort()
  const hooks = (await readdir(join(SRC, 'hooks'))).filter((file) => file.endsWith('.ts')).sort()
  return [
    "const {execute} = require('@oclif/core/execute')",
    'exports.COMMANDS = Object.defineProperties({}, {',
    ...commands.map((file) => getter(file.slice(0, -3).split(sep).join(':'), join(SRC, 'commands', file))),
    '})',
    'Object.defineProperties(exports, {',
    ...hooks.map((file) => getter(identifier(file.slice(0, -3)), join(SRC, 'hooks', file))),
    '})',
    '/** bin/run.js without the fast path: oclif, given the package root (bin/ has a package.json of its own), on process.argv or `args`. */',
    'exports.run = async (root, args) => {',
    '  await execute({args, dir: root})',
    '}',
    '',
  ].join('\n')
}

if (process.argv[2] === 'fast-path') {
  await fastPathBundles()
} else if (process.argv[2] === undefined) {
  await build({
    ...common,
    entryPoints: [
      // The worker thread that runs `keyflow sql`'s query (src/lib/snowflake/sql-thread.ts).
      {in: join(SRC, 'lib', 'snowflake', 'sql-thread-entry.ts'), out: 'sql-thread'},
    ],
    external: [...EXTERNAL, '@oclif/*'],
  })
  await build({
    ...common,
    // oclif's own optional loaders for TypeScript sources (bin/dev.mjs), never used by a build.
    external: [...EXTERNAL, 'ts-node', 'tsx', 'typescript'],
    outdir: undefined,
    outfile: join(DIST, 'oclif.cjs'),
    plugins: [...common.plugins, oclifEdits],
    stdin: {contents: await oclifEntry(), loader: 'js', resolveDir: ROOT, sourcefile: 'oclif-entry.js'},
  })
} else {
  throw new Error(`scripts/bundle.mjs takes no argument or \`fast-path\`, not ${process.argv[2]}.`)
}
