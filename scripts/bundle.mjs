#!/usr/bin/env node
/**
 * `npm run build`'s last step: CommonJS esbuild bundles of the entry points bin/run.js loads, made
 * from the same sources tsc just compiled. A bundle is one file to read and compile where Node's
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
import {readFile} from 'node:fs/promises'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src')
const DIST = join(ROOT, 'dist')

/**
 * Each source's import.meta.url becomes the URL of its own compiled file in dist/, so the paths
 * it resolves against it (oclif.manifest.json, completion/, createRequire) hold in a bundle too.
 */
const importMetaUrl = {
  name: 'import-meta-url',
  setup(build) {
    build.onLoad({filter: /\.ts$/}, async ({path}) => {
      const compiled = relative(SRC, path).replace(/\.ts$/, '.js')
      const contents = await readFile(path, 'utf8')
      return {contents: contents.replaceAll('import.meta.url', `__keyflowUrl(${JSON.stringify(compiled)})`), loader: 'ts'}
    })
  },
}

await build({
  banner: {js: "const __keyflowUrl = (file) => require('node:url').pathToFileURL(require('node:path').join(__dirname, file)).href;"},
  bundle: true,
  entryPoints: [
    // secret get and run, without oclif (src/fast-path.ts).
    {in: join(SRC, 'fast-path.ts'), out: 'fast-path'},
    // The completion scripts' question on every TAB.
    {in: join(SRC, 'lib', 'completion', 'entry.ts'), out: 'completion'},
  ],
  external: ['@aws-sdk/*', '@lydell/node-pty', '@oclif/*', 'ajv', 'node-pty', 'snowflake-sdk'],
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  // Next to tsc's output, so paths relative to dist/ (package.json, node_modules) hold.
  outdir: DIST,
  outExtension: {'.js': '.cjs'},
  platform: 'node',
  plugins: [importMetaUrl],
  target: 'node20',
  tsconfig: join(ROOT, 'tsconfig.json'),
})
