#!/bin/sh
":" // ; exec node -- "$0" "$@"
// The two lines above are sh and JavaScript at once: sh runs `node -- THIS_FILE ARGS`, and
// JavaScript sees a string and a comment. A portable shebang cannot pass `--` to node itself
// (BusyBox and macOS before 12 have no `env -S`), and without `--` Node 20 checks any
// `--env-file X` among the script's arguments (ours included) and exits 9 if X is missing
// (nodejs/node#54232). Run by `node bin/run.js`, the file is JavaScript from the start.
// The hottest calls skip loading oclif; see src/fast-path.ts.
const {runFastPath} = await import('../dist/fast-path.js')

if (process.argv[2] === '__complete') {
  // The completion scripts' question, on every TAB: answered without loading oclif.
  const {runCompletion} = await import('../dist/lib/completion/entry.js')
  await runCompletion(process.argv.slice(3))
} else if (!(await runFastPath(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
  // The command is done: a timer or socket left by a block module it loaded must not keep
  // keyflow running. Both streams are drained first, so no output is lost.
  const drain = (stream) =>
    new Promise((resolve) => {
      stream.write('', resolve)
    })
  await Promise.all([drain(process.stdout), drain(process.stderr)])
  // eslint-disable-next-line n/no-process-exit
  process.exit()
}
