#!/usr/bin/env node
/* eslint-disable no-await-in-loop -- a bench measures one thing after another */
/**
 * The aws block store behind a proxy adding 50 ms to every Secrets Manager call (docs/blocks.md
 * "The aws store"). Standalone: needs a built tree (npm run build) and python3 with moto.
 * For each case: API calls per run against the fewest the API allows, and wall time (median of
 * 3, through the built CLI) against the latency floor (the sequential round trips the API
 * needs x 50 ms) and against keyflow's own start-up in the same run (`block ls` of an empty
 * local store).
 *
 *   ls     `block ls --store aws` of 500 documents: ListSecrets pages of 100, sequential -> 5 calls
 *   run    `run --store aws --block snowflake-connector/prod -- true`, credentials referenced:
 *          the connector, then what it references -> 2 sequential calls; with cache.ttl set
 *          and the cache filled by one run -> 0 calls (docs/blocks.md "Cache and offline")
 *   copy   `block copy local aws` of 100 new documents: one batch of reads (5 BatchGetSecretValue
 *          in parallel) and 100 CreateSecret (no batch write exists; parallel) -> 2 round trips
 *
 * moto crashes now and then on one of 100 concurrent CreateSecret (test/support/counting-proxy.mjs
 * says why) and the SDK retries it: such attempts are shown beside the calls, not counted.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {startCountingProxy} from '../test/support/counting-proxy.mjs'
import {BIN, median, report, ROOT, startMoto} from './support.mjs'

const DELAY_MS = 50
const dir = mkdtempSync(join(tmpdir(), 'keyflow-bench-store-'))
const base = {AWS_ACCESS_KEY_ID: 'bench', AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SECRET_ACCESS_KEY: 'bench', HOME: dir, KEYFLOW_PROJECT_FILE: '', LANG: 'C.UTF-8', NO_COLOR: '1', PATH: process.env.PATH}

/** Runs the built CLI without blocking this process, whose event loop runs the proxy. */
async function cli(args, env) {
  const start = process.hrtime.bigint()
  const child = spawn(process.execPath, ['--', BIN, ...args], {env, stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const code = await new Promise((resolvePromise) => {
    child.on('close', resolvePromise)
  })
  if (code !== 0) throw new Error(`keyflow ${args.join(' ')} exited ${code}: ${stderr}`)
  return Number(process.hrtime.bigint() - start) / 1e6
}

/**
 * One row: keyflow's wall time against the API's floor of round trips, and its calls against the
 * fewest possible. The attempts moto crashed on (counting-proxy.mjs says why) and the SDK then
 * retried are not keyflow's calls: they are shown, not counted.
 */
function calls(measure, {calls: made, crashed, ms}, minCalls, startupMs) {
  const retried = crashed > 0 ? `+${crashed} retried after a moto crash, not counted` : undefined
  console.log(`${measure.padEnd(44)} calls=${made} (minimum ${minCalls}${retried ? `; ${retried}` : ''})  ms=${ms.toFixed(0)}  over start-up=${(ms - startupMs).toFixed(0)}`)
  report({baseline: `the fewest calls the API allows`, baselineValue: minCalls, measure: `${measure}: AWS calls`, met: made <= minCalls, ratio: retried, target: `<= ${minCalls}`, unit: 'calls', value: made})
  report({baseline: 'keyflow start-up (block ls, empty local store)', baselineValue: startupMs, measure: `${measure}: wall, +${DELAY_MS} ms per call`, ratio: `${ms >= startupMs ? '+' : ''}${(ms - startupMs).toFixed(0)} ms`, unit: 'ms', value: ms})
}

/**
 * Runs `args` 3 times through the proxy (`env`: an object, or a function of the run's number):
 * calls per run (without the attempts moto crashed on, `crashed` in all), and the median wall time.
 */
async function measure(proxy, args, env) {
  const times = []
  proxy.reset()
  for (let run = 0; run < 3; run++) times.push(await cli(args, typeof env === 'function' ? env(run) : env))

  return {calls: (proxy.total() - proxy.crashed()) / 3, crashed: proxy.crashed(), ms: median(times)}
}

const moto = await startMoto()
const motoUrl = moto.url
try {
  const proxy = await startCountingProxy(motoUrl, {delayMs: DELAY_MS})
  const direct = {...base, AWS_ENDPOINT_URL: motoUrl, KEYFLOW_BLOCK_STORE: 'aws', KEYFLOW_HOME: join(dir, 'seed')}
  const viaProxy = {...base, AWS_ENDPOINT_URL: proxy.url, KEYFLOW_HOME: join(dir, 'reader')}

  // Seeding goes straight to moto, in process, 20 at a time: not what is measured. The SDK
  // reads its credentials and endpoint from this process's environment.
  Object.assign(process.env, direct)
  const {createInvocation} = await import(join(ROOT, 'dist', 'lib', 'invocation.js'))
  const {createBlock} = await import(join(ROOT, 'dist', 'lib', 'block', 'documents', 'operations.js'))
  const seed = await createInvocation({env: direct}).blocks()
  const names = Array.from({length: 500}, (_, index) => `s${String(index).padStart(3, '0')}`)
  for (let index = 0; index < names.length; index += 20) {
    await Promise.all(names.slice(index, index + 20).map((name) => createBlock(seed, 'secret', name, {field: ['value=env://BENCH_VALUE'], input: false})))
  }

  await createBlock(seed, 'snowflake-credentials', 'prod', {field: ['account=a', 'user=u', 'password=env://BENCH_PW'], input: false})
  await createBlock(seed, 'snowflake-connector', 'prod', {field: ['credentials=prod', 'database=D', 'schema=S', 'warehouse=W'], input: false})

  const startupRuns = []
  for (let run = 0; run < 3; run++) startupRuns.push(await cli(['block', 'ls', '--store', 'local', '--json'], {...viaProxy, KEYFLOW_HOME: join(dir, 'empty')}))
  const startupMs = median(startupRuns)

  const ls = await measure(proxy, ['block', 'ls', '--store', 'aws', '--json'], viaProxy)
  calls('block ls, 502 documents', ls, 6, startupMs)

  const run = await measure(proxy, ['run', '--store', 'aws', '--block', 'snowflake-connector/prod', '--', 'true'], {...viaProxy, BENCH_PW: 'bench-password'})
  calls('run --block connector + credentials', run, 2, startupMs)

  // The same run with cache.ttl set: one run fills the encrypted cache, the measured ones ask AWS nothing.
  const cachedEnv = {...viaProxy, BENCH_PW: 'bench-password', KEYFLOW_CACHE_TTL: '10m', KEYFLOW_HOME: join(dir, 'cached')}
  await cli(['run', '--store', 'aws', '--block', 'snowflake-connector/prod', '--', 'true'], cachedEnv)
  const cached = await measure(proxy, ['run', '--store', 'aws', '--block', 'snowflake-connector/prod', '--', 'true'], cachedEnv)
  calls('run --block, cached (cache.ttl)', cached, 0, startupMs)

  // 100 local documents, copied each run to a fresh prefix: every one is a CreateSecret.
  const local = {...base, AWS_ENDPOINT_URL: motoUrl, KEYFLOW_HOME: join(dir, 'local')}
  const localBlocks = await createInvocation({env: local, store: 'local'}).blocks()
  for (let index = 0; index < 100; index++) await createBlock(localBlocks, 'secret', `c${index}`, {field: ['value=env://BENCH_VALUE'], input: false})
  const copy = await measure(proxy, ['block', 'copy', 'local', 'aws', '--json'], (run) => ({...viaProxy, KEYFLOW_BLOCKS_PREFIX: `copy${run}/`, KEYFLOW_HOME: join(dir, 'local')}))
  calls('block copy local -> aws, 100 new documents', copy, 105, startupMs)
  await proxy.stop()
} finally {
  moto.stop()
  rmSync(dir, {force: true, recursive: true})
}
