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
// cache (bin/load-bundle.js).
const {join} = require('node:path')

const {loadBundle} = require('./load-bundle.js')

const argv = process.argv.slice(2)
const bundle = (name) => loadBundle(join(__dirname, '..', 'dist', `${name}.cjs`), {requirable: name === 'oclif'})

;(async () => {
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
  const drain = (stream) =>
    new Promise((resolve) => {
      stream.write('', resolve)
    })
  await Promise.all([drain(process.stdout), drain(process.stderr)])
  // eslint-disable-next-line n/no-process-exit
  process.exit()
})()
