#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs in turn, each in its own node process, then
// prints one table (measure, baseline, keyflow, ratio, target, met?) and writes it, with the
// machine and the date, to docs/performance.md. A bench reports each figure as a JSON line
// appended to the file named by BENCH_SUMMARY:
//   {measure, baseline, baselineValue, value, unit, ratio, target, met}
// (ratio is value / baselineValue, or for a target in ms the difference, as the target says).
// A bench that misses a target exits 3, one that fails exits otherwise. BENCH_QUICK=1 asks
// every bench for fewer iterations. `npm run bench -- startup` runs the benches whose file
// names hold "startup" (docs/performance.md is then written with their rows only).
//
// NODE_EXTRA_CA_CERTS is unset for every bench: Node 20 reads that file at every start
// (about 45 ms here), which would hide every start-up figure (README "Performance notes").
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, freemem, loadavg, release, tmpdir, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(here)
  .filter((file) => file.endsWith('.bench.mjs'))
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort()

if (benches.length === 0) throw new Error('No bench/*.bench.mjs matched.')

const {NODE_EXTRA_CA_CERTS: extraCaCerts, ...benchEnv} = process.env
if (extraCaCerts !== undefined) console.log('NODE_EXTRA_CA_CERTS is unset for the benches (README "Performance notes").')

const scratch = mkdtempSync(join(tmpdir(), 'keyflow-bench-summary-'))
const summary = join(scratch, 'summary.jsonl')
const outcomes = []
const started = new Date()
const loadBefore = loadavg()
try {
  for (const file of benches) {
    console.log(`\n== ${file}`)
    const result = spawnSync(process.execPath, [join(here, file)], {env: {...benchEnv, BENCH_SUMMARY: summary}, stdio: 'inherit'})
    outcomes.push({file, status: result.status === 0 ? 'ok' : result.status === 3 ? 'target missed' : `failed (exit ${result.status ?? result.signal})`})
  }

  let rows = []
  try {
    rows = readFileSync(summary, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
  } catch {}

  const figure = (value, unit) => (value === undefined ? '' : `${Number(value).toFixed(unit === 'MB/s' || unit === 'MB' ? 0 : 1)} ${unit}`)
  const ratioText = (ratio) => (ratio === undefined ? '' : typeof ratio === 'string' ? ratio : `${ratio.toFixed(2)}x`)
  const cellsOf = (row) => [
    row.measure,
    row.baseline === undefined ? '' : `${row.baseline}${row.baselineValue === undefined ? '' : ` (${figure(row.baselineValue, row.unit)})`}`,
    figure(row.value, row.unit),
    ratioText(row.ratio),
    row.target ?? '',
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
  ]
  const header = ['measure', 'baseline', 'keyflow', 'ratio', 'target', 'met?']
  // A | inside a cell would end it in Markdown.
  const table = rows.map((row) => cellsOf(row).map((cell) => cell.replaceAll('|', String.raw`\|`)))
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column].length)))
  const line = (cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
  const markdown = [line(header), line(widths.map((width) => '-'.repeat(width))), ...table.map((cells) => line(cells))].join('\n')
  console.log(`\n== summary\n${markdown}`)
  for (const {file, status} of outcomes) console.log(`  ${file.padEnd(50)} ${status}`)

  const cpu = cpus()
  const machine = [
    `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}`,
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the end)`,
    `Linux ${release()}`,
    `Node ${process.version}`,
    `load average ${loadBefore.map((load) => load.toFixed(1)).join(' ')} at the start, ${loadavg().map((load) => load.toFixed(1)).join(' ')} at the end`,
  ].join('; ')
  writeFileSync(
    join(here, '..', 'docs', 'performance.md'),
    `# Performance

Written by \`npm run bench\`${only.length > 0 ? ` (benches matching ${only.join(', ')})` : ''} on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC.
Machine: ${machine}.

Each ratio compares keyflow with a baseline measured in the same run (medians of interleaved runs); targets are
issue 16's. \`NODE_EXTRA_CA_CERTS\` was unset for every run (README "Performance notes"). The machine is shared
(other jobs ran during the benches: see the load average); wall-clock figures are noisy there, and the ratios
within one run are the measure.

${markdown}

Benches: ${outcomes.map(({file, status}) => `${file} ${status}`).join(', ')}.
`,
  )
  if (outcomes.some(({status}) => status !== 'ok')) process.exitCode = 1
} finally {
  rmSync(scratch, {force: true, recursive: true})
}
