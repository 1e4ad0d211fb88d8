#!/usr/bin/env node
/**
 * `keyflow sql` streaming speed and memory (docs/snowflake.md "Speed"). Standalone: needs a
 * built tree (npm run build). Starts the local Snowflake test server (DuckDB) as a child via
 * ts-node, then streams N rows through the built CLI with --format ndjson into a counter.
 *
 *   node bench/sql-stream.bench.mjs [rows...]        (default: 100000 1000000)
 *
 * Reports rows/s and keyflow's peak RSS (VmHWM from /proc/<pid>/status, polled every 20 ms
 * until the process exits). Target: peak RSS < 200 MB, independent of the row count.
 * Env: BENCH_CHUNK_ROWS (rows per result chunk on the server, default 10000).
 */
/* eslint-disable camelcase -- the connector config keeps Prefect's snake_case field names */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin', 'run.js')
const counts = process.argv.slice(2).map(Number)
const rowCounts = counts.length > 0 ? counts : [100_000, 1_000_000]
const chunkRows = Number(process.env.BENCH_CHUNK_ROWS ?? 10_000)
const dir = mkdtempSync(join(tmpdir(), 'keyflow-bench-'))
const password = `bench-${process.pid}-${Date.now()}`

async function startServer() {
  const options = {chunkRows, users: [{name: 'bench', password}]}
  const child = spawn(
    process.execPath,
    ['--loader', 'ts-node/esm', '--no-warnings', join(ROOT, 'test/support/snowflake-server/main.ts'), JSON.stringify(options)],
    {cwd: ROOT, env: {...process.env, TS_NODE_TRANSPILE_ONLY: 'true'}, stdio: ['pipe', 'pipe', 'inherit']},
  )
  const [line] = await createInterface({input: child.stdout})[Symbol.asyncIterator]().next().then((next) => [next.value])
  if (!line) throw new Error('the test server did not start')
  return {child, ...JSON.parse(line)}
}

function peakRss(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

const env = {HOME: dir, KEYFLOW_HOME: join(dir, '.keyflow'), KEYFLOW_PROJECT_FILE: '', LANG: 'C.UTF-8', NO_COLOR: '1', PATH: process.env.PATH}

async function stream(block, rows) {
  const sql = `SELECT range AS id, 'customer-' || range AS name, range * 1.5 AS amount, range % 2 = 0 AS even FROM range(${rows})`
  const start = process.hrtime.bigint()
  const child = spawn(process.execPath, [BIN, 'sql', '--block', block, '--format', 'ndjson', sql], {cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe']})
  let peak = 0
  const timer = setInterval(() => {
    peak = Math.max(peak, peakRss(child.pid))
  }, 20)
  let lines = 0
  let bytes = 0
  child.stdout.on('data', (chunk) => {
    bytes += chunk.length
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, index + 1)) lines++
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  // Read VmHWM once more when stdout ends, while the process still exists.
  child.stdout.on('end', () => {
    peak = Math.max(peak, peakRss(child.pid))
  })
  const code = await new Promise((resolvePromise) => {
    child.on('close', resolvePromise)
  })
  clearInterval(timer)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (code !== 0 || lines !== rows) throw new Error(`keyflow sql exited ${code} after ${lines} of ${rows} rows: ${stderr}`)
  return {bytes, peakMb: peak / 1024 / 1024, rows, rowsPerSecond: rows / seconds, seconds}
}

const server = await startServer()
try {
  const config = {access_url: server.url, credentials: {account: server.account, password, user: 'bench'}, database: 'BENCH', schema: 'PUBLIC', warehouse: 'BENCH'}
  const created = spawnSync(process.execPath, [BIN, 'block', 'create', 'snowflake-connector', 'bench', '--from-file', '-'], {encoding: 'utf8', env, input: JSON.stringify(config)})
  if (created.status !== 0) throw new Error(`block create failed: ${created.stderr}`)
  const results = []
  for (const rows of rowCounts) results.push(await stream('snowflake-connector/bench', rows)) // eslint-disable-line no-await-in-loop
  console.log(`keyflow sql --format ndjson from the local Snowflake server (chunk ${chunkRows} rows), node ${process.version}`)
  console.log('rows       seconds  rows/s     MB out  peak RSS (VmHWM)')
  for (const result of results) {
    console.log(
      `${String(result.rows).padEnd(10)} ${result.seconds.toFixed(2).padStart(7)}  ${Math.round(result.rowsPerSecond).toString().padEnd(9)}  ${(result.bytes / 1e6).toFixed(1).padStart(6)}  ${result.peakMb.toFixed(1)} MB`,
    )
  }

  const worst = Math.max(...results.map((result) => result.peakMb))
  console.log(worst < 200 ? `OK: peak RSS ${worst.toFixed(1)} MB < 200 MB` : `OVER TARGET: peak RSS ${worst.toFixed(1)} MB >= 200 MB`)
  if (worst >= 200) process.exitCode = 1
} finally {
  server.child.kill('SIGTERM')
  rmSync(dir, {force: true, recursive: true})
}
