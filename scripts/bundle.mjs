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
 * command off the fast path. Each `from` must be found as written: the build fails if oclif's
 * code changes under an edit, rather than losing the saving (or worse) in silence.
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
 * Each bundle's first line names this build; bin/load-bundle.js uses a code cache only when it
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
 * The fast path's bundles, one per command it serves (src/fast-path.ts): V8 reads a bundle's code
 * cache whole, and every function of a bundle costs its start-up even when never called (its
 * SharedFunctionInfo is in the cache), about 0.6 ms per 100 KB here: `run`'s modules in
 * `secret get`'s bundle cost it 0.4 ms. Each has the fast commands' part of oclif.manifest.json
 * built in, so the parser reads no file at start: only what it reads is kept (ManifestCommand and
 * ManifestFlag there), as descriptions, summaries and examples would be most of it. So this stage
 * runs after `oclif manifest`, which reads dist/oclif.cjs from the first stage.
 */
async function fastPathBundles() {
  const {commands} = JSON.parse(await readFile(join(ROOT, 'oclif.manifest.json'), 'utf8'))
  const FLAG_KEYS = ['allowNo', 'char', 'default', 'multiple', 'name', 'options', 'type']
  const pick = (object, keys) => Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]))
  const fast = Object.entries(commands)
    .filter(([, command]) => command.fastPath)
    .map(([id, command]) => [id, {fastPath: command.fastPath, flags: Object.fromEntries(Object.entries(command.flags).map(([name, flag]) => [name, pick(flag, FLAG_KEYS)])), id}])
  await build({
    ...common,
    define: {FAST_PATH_MANIFEST: JSON.stringify(JSON.stringify({commands: Object.fromEntries(fast)}))},
    entryPoints: [
      // `secret get` (with `--version` and completion), and `run`: bin/run.js loads one of them.
      {in: join(SRC, 'fast-path-get.ts'), out: 'fast-path-get'},
      {in: join(SRC, 'fast-path-run.ts'), out: 'fast-path-run'},
    ],
    external: [...EXTERNAL, '@oclif/*'],
  })
  await Promise.all(['fast-path-get', 'fast-path-run'].map((name) => checkPlainModule(join(DIST, `${name}.cjs`))))
}

/**
 * bin/load-bundle.js evaluates the fast path's bundles in a plain module object with its own
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
  if (uses.length > 0) throw new Error(`${file} uses ${uses.map(([use]) => use).join(', ')}: see evaluate() in bin/load-bundle.js.`)
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
