#!/usr/bin/env node
// Prints the per-file times a test run wrote with KEYFLOW_TEST_TIMES=FILE (test/support/reporter.cjs),
// slowest first: tests, the file's time (its tests' and hooks' durations), the part spent in hooks
// (fixtures: moto, proxies, servers), its share of the whole, and its slowest test or hook. With
// --jobs N it adds the lower bound for N parallel jobs: the whole divided by N, or the longest file.
//
//   KEYFLOW_TEST_TIMES=/tmp/times.jsonl npm run test:integration
//   node scripts/test-times.mjs /tmp/times.jsonl --jobs 4 [--top 20]
import {readFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

const {positionals, values} = parseArgs({
  allowPositionals: true,
  options: {jobs: {default: '1', type: 'string'}, top: {default: '0', type: 'string'}},
})
if (positionals.length !== 1) throw new Error('usage: node scripts/test-times.mjs TIMES.jsonl [--jobs N] [--top N]')

const byFile = new Map()
for (const line of readFileSync(positionals[0], 'utf8').split('\n')) {
  if (!line.trim()) continue
  const entry = JSON.parse(line)
  // A file run twice into the same log (two runs) keeps its last figures.
  byFile.set(entry.file, entry)
}

const rows = [...byFile.values()].sort((a, b) => b.ms - a.ms)
const total = rows.reduce((sum, row) => sum + row.ms, 0)
const seconds = (ms) => (ms / 1000).toFixed(1)
const shown = Number(values.top) > 0 ? rows.slice(0, Number(values.top)) : rows
const width = Math.max(4, ...shown.map((row) => row.file.length))
const out = [`${'file'.padEnd(width)}  tests  total s  hooks s  share  slowest test or hook`]
for (const row of shown) {
  const slowest = row.slowest?.[0]
  out.push(
    [
      row.file.padEnd(width),
      String(row.tests).padStart(5),
      seconds(row.ms).padStart(7),
      seconds(row.hooksMs ?? 0).padStart(7),
      `${((100 * row.ms) / total).toFixed(1).padStart(4)}%`,
      slowest ? `${seconds(slowest.ms)} s ${slowest.title.slice(0, 70)}` : '',
    ].join('  '),
  )
}

const jobs = Number(values.jobs)
out.push(`${rows.length} files, ${rows.reduce((sum, row) => sum + row.tests, 0)} tests, ${seconds(total)} s of tests and hooks`)
if (jobs > 1) out.push(`lower bound with ${jobs} jobs: ${seconds(Math.max(total / jobs, rows[0]?.ms ?? 0))} s (longest file ${seconds(rows[0]?.ms ?? 0)} s)`)
process.stdout.write(out.join('\n') + '\n')
