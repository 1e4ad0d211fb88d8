#!/usr/bin/env node
// Cold start of the built CLI against `node -e 0` in the same run (README "Start-up time").
// Every command is a fresh process; runs are interleaved round by round so machine noise
// hits all commands alike, and medians are compared. Target: `secret get` <= 2.0x node.
//
//   node bench/startup.bench.mjs            (BENCH_QUICK=1 for a quick look, BENCH_RUNS=N to choose)
import {spawnSync} from 'node:child_process'
import {appendFileSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin', 'run.js')
const TARGET = 2
const runs = Number(process.env.BENCH_RUNS ?? (process.env.BENCH_QUICK === '1' ? 10 : 40))
const warmup = 3

if (!existsSync(join(ROOT, 'dist', 'fast-path.js')) || !existsSync(join(ROOT, 'oclif.manifest.json'))) {
  throw new Error('dist/ or oclif.manifest.json is missing: run `npm run build` first.')
}

const home = mkdtempSync(join(tmpdir(), 'keyflow-bench-'))
const env = {
  AWS_CONFIG_FILE: join(home, 'aws-config'),
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
  BENCH_SECRET: 'bench-value',
  HOME: home,
  KEYFLOW_HOME: join(home, '.keyflow'),
  KEYFLOW_PROJECT_FILE: '',
  NO_COLOR: '1',
  PATH: process.env.PATH,
}

const commands = [
  {args: ['-e', '0'], name: 'node -e 0'},
  {args: [BIN, 'secret', 'get', 'BENCH_SECRET'], expect: 'bench-value\n', name: 'keyflow secret get NAME (env hit)', target: TARGET},
  // The same command without bin/run.js's fast path, to show what the fast path saves.
  {args: [join(ROOT, 'test', 'support', 'oclif-entry.mjs'), 'secret', 'get', 'BENCH_SECRET'], expect: 'bench-value\n', name: 'keyflow secret get NAME (oclif path)'},
  {args: [BIN, '--help'], name: 'keyflow --help'},
]

function timeOnce({args, expect, name}) {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {cwd: home, encoding: 'utf8', env})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0 || (expect !== undefined && result.stdout !== expect)) {
    throw new Error(`${name} failed (exit ${result.status}): ${result.stderr.slice(0, 500)}`)
  }

  return ms
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

try {
  for (let round = 0; round < warmup; round++) for (const command of commands) timeOnce(command)
  const samples = new Map(commands.map((command) => [command.name, []]))
  for (let round = 0; round < runs; round++) {
    // Rotate the order each round so no command always runs right after another.
    for (let index = 0; index < commands.length; index++) {
      const command = commands[(round + index) % commands.length]
      samples.get(command.name).push(timeOnce(command))
    }
  }

  const baseline = median(samples.get('node -e 0'))
  console.log(`startup: ${runs} interleaved runs each (+${warmup} warm-up), node ${process.version}, medians`)
  let missed = false
  for (const command of commands) {
    const value = median(samples.get(command.name))
    const ratio = value / baseline
    const verdict = command.target === undefined ? '' : ratio <= command.target ? `  target <= ${command.target}x: met` : `  target <= ${command.target}x: MISSED`
    if (command.target !== undefined && ratio > command.target) missed = true
    console.log(`  ${command.name.padEnd(36)} ${value.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x${verdict}`)
    if (process.env.BENCH_SUMMARY) {
      appendFileSync(
        process.env.BENCH_SUMMARY,
        JSON.stringify({bench: 'startup', metric: command.name, ms: value, ratio, target: command.target}) + '\n',
      )
    }
  }

  if (missed) process.exitCode = 3
} finally {
  rmSync(home, {force: true, recursive: true})
}
