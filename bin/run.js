#!/usr/bin/env -S node --
// `node --` ends node's own options: Node 20 otherwise checks any `--env-file X` in the
// arguments (ours included) and exits 9 if X is missing (nodejs/node#54232).
// The hottest calls skip loading oclif; see src/fast-path.ts.
const {runFastPath} = await import('../dist/fast-path.js')

if (!(await runFastPath(process.argv.slice(2)))) {
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
