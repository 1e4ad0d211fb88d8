#!/usr/bin/env -S node --
// `node --` ends node's own options: Node 20 otherwise checks any `--env-file X` in the
// arguments (ours included) and exits 9 if X is missing (nodejs/node#54232).
// The hottest calls skip loading oclif; see src/fast-path.ts.
const {runFastPath} = await import('../dist/fast-path.js')

if (!(await runFastPath(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
