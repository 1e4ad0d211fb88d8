#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs in turn, each in its own node process, then
// prints one summary. A bench reports its figures as JSON lines appended to the file named
// by BENCH_SUMMARY ({bench, metric, ms?, ratio?, target?, ...}); a bench that misses a
// target exits 3, one that fails exits otherwise. BENCH_QUICK=1 asks every bench for fewer
// iterations.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(here)
  .filter((file) => file.endsWith('.bench.mjs'))
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort()

if (benches.length === 0) throw new Error('No bench/*.bench.mjs matched.')

const scratch = mkdtempSync(join(tmpdir(), 'keyflow-bench-summary-'))
const summary = join(scratch, 'summary.jsonl')
const outcomes = []
try {
  for (const file of benches) {
    console.log(`\n== ${file}`)
    const result = spawnSync(process.execPath, [join(here, file)], {env: {...process.env, BENCH_SUMMARY: summary}, stdio: 'inherit'})
    outcomes.push({file, status: result.status === 0 ? 'ok' : result.status === 3 ? 'target missed' : `failed (exit ${result.status ?? result.signal})`})
  }

  let lines = []
  try {
    lines = readFileSync(summary, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
  } catch {}

  console.log('\n== summary')
  for (const {bench, metric, ms, ratio, target, ...rest} of lines) {
    const figures = [ms === undefined ? '' : `${ms.toFixed(1)} ms`, ratio === undefined ? '' : `${ratio.toFixed(2)}x`, target === undefined ? '' : `(target <= ${target}x)`]
    const extra = Object.entries(rest).map(([key, value]) => `${key}=${value}`)
    console.log(`  ${`${bench}: ${metric}`.padEnd(50)} ${[...figures, ...extra].filter(Boolean).join('  ')}`)
  }

  for (const {file, status} of outcomes) console.log(`  ${file.padEnd(50)} ${status}`)
  if (outcomes.some(({status}) => status !== 'ok')) process.exitCode = 1
} finally {
  rmSync(scratch, {force: true, recursive: true})
}
