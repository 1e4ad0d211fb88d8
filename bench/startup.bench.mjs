#!/usr/bin/env node
// Cold starts of the built CLI, each against its baseline measured in the same run (README
// "Start-up time"; targets from issue 16):
//   secret get (env hit), --version, --help, block ls, block inspect    against `node -e 0`
//   secret get (env hit) from the package as users install it           against `node -e 0`
//     (`npm pack`, then `npm install -g` of the tarball into a temporary prefix), by `node` and
//     by npm's bin link (which adds /bin/sh: bin/run.js's first line)
//   run -- true                                                        against a Node script that spawns true
//   get and run with a 10- and a 200-entry .env                        against dotenv-cli and env-cmd
//   1,000 names from a 5,000-line .env                                 against 10 names from the same file
// Every command is a fresh process; runs are interleaved round by round (the order rotating) so
// machine noise hits all commands alike, and medians are compared. The children get only the
// environment below: NODE_EXTRA_CA_CERTS among others is not passed (README "Performance notes").
//
//   node bench/startup.bench.mjs            (BENCH_QUICK=1 for a quick look, BENCH_RUNS=N to choose)
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BIN, median, report, ROOT} from './support.mjs'

const runs = Number(process.env.BENCH_RUNS ?? (process.env.BENCH_QUICK === '1' ? 10 : 30))
const warmup = 3

if (!existsSync(join(ROOT, 'dist', 'fast-path-get.cjs')) || !existsSync(join(ROOT, 'dist', 'oclif.cjs')) || !existsSync(join(ROOT, 'oclif.manifest.json'))) {
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

/** A .env of `count` entries (random 32-character values) and a keyflow.json that injects them all. */
function envFile(count) {
  const names = Array.from({length: count}, (_, index) => `BENCH_${index}`)
  const file = join(home, `${count}.env`)
  writeFileSync(file, names.map((name) => `${name}=${randomBytes(24).toString('base64url')}`).join('\n') + '\n', {mode: 0o600})
  const project = join(home, `keyflow-${count}.json`)
  writeFileSync(project, JSON.stringify({envFiles: [file], run: {secrets: names}}))
  return {file, last: names.at(-1), names, project}
}

/**
 * The package as users get it: packed (dist/ as built, so no prepack build) and installed
 * globally into a prefix. Its bin/run.js, and the link npm made to it in the prefix's bin/.
 */
function installed() {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', home], {cwd: ROOT, encoding: 'utf8'}))
  const prefix = join(home, 'prefix')
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-update-notifier', '--no-fund', '--no-audit', join(home, packed[0].filename)], {stdio: 'ignore'})
  return {link: join(prefix, 'bin', 'keyflow'), script: join(prefix, 'lib', 'node_modules', 'keyflow', 'bin', 'run.js')}
}

const installedPackage = installed()

const dotenvCli = join(ROOT, 'node_modules', 'dotenv-cli', 'cli.js')
const envCmd = join(ROOT, 'node_modules', 'env-cmd', 'bin', 'env-cmd.js')
const NODE = 'node -e 0'
const SPAWN = 'a Node script that spawns true'
const spawnTrue = "require('node:child_process').spawn('true', [], {stdio: 'inherit'}).on('exit', (code) => process.exit(code))"

/**
 * Each command and the rows it reports: `ratio` is the most keyflow / baseline may be, `plusMs`
 * the most milliseconds keyflow may add to it. A command with no rows is a baseline.
 */
const commands = [
  {args: ['-e', '0'], name: NODE},
  {args: ['-e', spawnTrue], name: SPAWN},
  {args: [BIN, 'secret', 'get', 'BENCH_SECRET'], expect: 'bench-value\n', name: 'keyflow secret get NAME (env hit)', rows: [{baseline: NODE, ratio: 1.25}]},
  {args: [installedPackage.script, 'secret', 'get', 'BENCH_SECRET'], expect: 'bench-value\n', name: 'keyflow secret get NAME (env hit), installed package', rows: [{baseline: NODE, ratio: 1.25}]},
  // As a shell runs it: through npm's link, so bin/run.js's first line has /bin/sh start node
  // (the `--` Node 20 needs before a script whose arguments may hold --env-file; bin/run.js says why).
  {args: ['secret', 'get', 'BENCH_SECRET'], expect: 'bench-value\n', file: installedPackage.link, name: 'keyflow secret get NAME (env hit), installed package, by its bin link', rows: [{baseline: NODE}]},
  // The same command without bin/run.js's fast path, to show what the fast path saves.
  {args: [join(ROOT, 'test', 'support', 'oclif-entry.mjs'), 'secret', 'get', 'BENCH_SECRET'], expect: 'bench-value\n', name: 'keyflow secret get NAME (oclif path)', rows: [{baseline: NODE}]},
  {args: [BIN, 'run', '--', 'true'], name: 'keyflow run -- true', rows: [{baseline: SPAWN, plusMs: 10}]},
  {args: [BIN, '--version'], name: 'keyflow --version', rows: [{baseline: NODE, ratio: 2}]},
  {args: [BIN, '--help'], name: 'keyflow --help', rows: [{baseline: NODE, ratio: 3}]},
  {args: [BIN, 'block', 'ls'], name: 'keyflow block ls', rows: [{baseline: NODE, ratio: 3}]},
  {args: [BIN, 'block', 'inspect', 'secret/bench'], name: 'keyflow block inspect', rows: [{baseline: NODE, ratio: 3}]},
]

for (const count of [10, 200]) {
  const {file, last, project} = envFile(count)
  const fromFile = {...env, KEYFLOW_ENV_FILES: file}
  const dotenvGet = `dotenv-cli -p, ${count}-entry .env`
  const dotenvRun = `dotenv-cli -- true, ${count}-entry .env`
  const envCmdRun = `env-cmd true, ${count}-entry .env`
  commands.push(
    {args: [dotenvCli, '-e', file, '-p', last], name: dotenvGet},
    {args: [dotenvCli, '-e', file, '--', 'true'], name: dotenvRun},
    {args: [envCmd, '-f', file, 'true'], name: envCmdRun},
    {args: [BIN, 'secret', 'get', last, '--sources', 'dotenv'], env: fromFile, name: `keyflow secret get, ${count}-entry .env`, rows: [{baseline: dotenvGet, ratio: 1}]},
    {
      args: [BIN, 'run', '--', 'true'],
      env: {...env, KEYFLOW_PROJECT_FILE: project},
      name: `keyflow run (every entry) -- true, ${count}-entry .env`,
      rows: [
        {baseline: dotenvRun, ratio: 1},
        {baseline: envCmdRun, ratio: 1},
      ],
    },
  )
}

{
  const {file, names} = envFile(5000)
  const fromFile = {...env, KEYFLOW_ENV_FILES: file}
  const ten = 'keyflow secret get of 10 names, 5,000-line .env'
  commands.push(
    {args: [BIN, 'secret', 'get', ...names.slice(0, 10), '--sources', 'dotenv', '--format', 'env'], env: fromFile, name: ten},
    {args: [BIN, 'secret', 'get', ...names.slice(0, 1000), '--sources', 'dotenv', '--format', 'env'], env: fromFile, name: 'keyflow secret get of 1,000 names, 5,000-line .env', rows: [{baseline: ten, ratio: 1.2}]},
  )
}

function timeOnce(command) {
  const start = process.hrtime.bigint()
  const result = spawnSync(command.file ?? process.execPath, command.args, {cwd: home, encoding: 'utf8', env: command.env ?? env, maxBuffer: 64 * 1024 * 1024})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0 || (command.expect !== undefined && result.stdout !== command.expect)) {
    throw new Error(`${command.name} failed (exit ${result.status}): ${result.stderr.slice(0, 500)}`)
  }

  return ms
}

/** The table rows of a command: its median against each of its baselines' medians. */
function rowsOf(command, value, samples) {
  return command.rows.map(({baseline, plusMs, ratio}) => {
    const baselineValue = median(samples.get(baseline))
    const row = {baseline, baselineValue, measure: command.name, unit: 'ms', value}
    if (plusMs !== undefined) {
      const extra = value - baselineValue
      return {...row, met: extra <= plusMs, ratio: `${extra >= 0 ? '+' : ''}${extra.toFixed(1)} ms`, target: `<= +${plusMs} ms`}
    }

    const measured = value / baselineValue
    return ratio === undefined ? {...row, ratio: measured} : {...row, met: measured <= ratio, ratio: measured, target: `<= ${ratio}x`}
  })
}

try {
  const created = spawnSync(process.execPath, [BIN, 'block', 'create', 'secret', 'bench', '--from-file', '-'], {encoding: 'utf8', env, input: JSON.stringify({value: 'bench-value'})})
  if (created.status !== 0) throw new Error(`block create failed: ${created.stderr}`)
  for (let round = 0; round < warmup; round++) for (const command of commands) timeOnce(command)
  const samples = new Map(commands.map((command) => [command.name, []]))
  for (let round = 0; round < runs; round++) {
    for (let index = 0; index < commands.length; index++) {
      const command = commands[(round + index) % commands.length]
      samples.get(command.name).push(timeOnce(command))
    }
  }

  console.log(`startup: ${runs} interleaved runs each (+${warmup} warm-up), node ${process.version}, wall-clock medians, NODE_EXTRA_CA_CERTS unset`)
  let missed = false
  for (const command of commands) {
    const value = median(samples.get(command.name))
    if (!command.rows) {
      console.log(`  ${command.name.padEnd(56)} ${value.toFixed(1).padStart(7)} ms  (baseline)`)
      continue
    }

    for (const row of rowsOf(command, value, samples)) {
      if (row.met === false) missed = true
      const shown = typeof row.ratio === 'string' ? row.ratio : `${row.ratio.toFixed(2)}x`
      console.log(`  ${command.name.padEnd(56)} ${value.toFixed(1).padStart(7)} ms  ${shown} of ${row.baseline}${row.target ? `  target ${row.target}: ${row.met ? 'met' : 'MISSED'}` : ''}`)
      report(row)
    }
  }

  if (missed) process.exitCode = 3
} finally {
  rmSync(home, {force: true, recursive: true})
}
