#!/usr/bin/env node
// The hottest scripting call skips loading oclif; see src/fast-path.ts.
const {runFastPath} = await import('../dist/fast-path.js')

if (!(await runFastPath(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
