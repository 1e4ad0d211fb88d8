#!/usr/bin/env node
/**
 * `keyflow run` speed (docs/run.md "Speed"). Standalone: needs only a built tree (npm run
 * build) and, for the AWS part, python3 with moto. Prints medians and ratios.
 *
 *   node bench/run-overhead.bench.mjs [startup] [mask] [aws]     (all three by default)
 *
 * startup  `keyflow run -- true` against `node -e 0` spawning `true`
 * mask     512 MiB (BENCH_MASK_MIB) through `keyflow run --mask always`, encodings on, for log
 *          text and base64 with 1, 100 and 1,000 secrets, and log text full of the shared prefix
 *          of 1,000 webhook-URL secrets; against the same output through `cat` in a pipe. MB/s,
 *          and keyflow's peak RSS (VmHWM): >= 300 MB/s on the prefix case, <= 90 MB everywhere
 * aws      100 AWS secrets behind a proxy adding 50 ms per call: keyflow's resolver against 100
 *          sequential GetSecretValue calls (target >= 20x), plus `keyflow run` end to end
 */
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startCountingProxy} from '../test/support/counting-proxy.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin', 'run.js')
const dir = mkdtempSync(join(tmpdir(), 'keyflow-bench-'))
const baseEnv = {HOME: dir, KEYFLOW_HOME: join(dir, '.keyflow'), KEYFLOW_PROJECT_FILE: '', LANG: 'C.UTF-8', NO_COLOR: '1', PATH: process.env.PATH}

const median = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function timeMs(command, args, env = baseEnv) {
  const start = process.hrtime.bigint()
  const result = spawnSync(command, args, {env, stdio: 'ignore'})
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}`)
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** Like timeMs, but leaves the event loop free (the AWS proxy runs in this process). */
async function timeAsyncMs(command, args, env) {
  const start = process.hrtime.bigint()
  const code = await new Promise((resolvePromise) => {
    spawn(command, args, {env, stdio: ['ignore', 'ignore', 'inherit']}).on('close', resolvePromise)
  })
  if (code !== 0) throw new Error(`${command} exited ${code}`)
  return Number(process.hrtime.bigint() - start) / 1e6
}

const mbps = (run) => (run.bytes / 1e6 / run.seconds).toFixed(0)

function startup(runs = 21) {
  const keyflow = []
  const bare = []
  const node = []
  for (let index = 0; index < runs; index++) {
    keyflow.push(timeMs(process.execPath, [BIN, 'run', '--', 'true']))
    bare.push(timeMs(process.execPath, ['-e', "require('node:child_process').spawnSync('true')"]))
    node.push(timeMs(process.execPath, ['-e', '0']))
  }

  const [k, b, n] = [median(keyflow), median(bare), median(node)]
  // The issue's target: secret get's start-up ratio (<= 2.0x node -e 0) plus at most 20 ms for the spawn.
  const limit = 2 * n + 20
  console.log(`startup  keyflow run -- true: median ${k.toFixed(1)} ms; node -e 0 + spawn true: ${b.toFixed(1)} ms (ratio ${(k / b).toFixed(2)}x, +${(k - b).toFixed(1)} ms); node -e 0: ${n.toFixed(1)} ms (${runs} runs each)`)
  console.log(`startup  target: keyflow run -- true <= 2.0 x node -e 0 + 20 ms = ${limit.toFixed(1)} ms: ${k <= limit ? 'met' : 'MISSED'}`)
}

/** Runs `command` with stdout piped here and counted; samples the RSS peak of `pid` while it runs. */
async function pipeRun(command, args, env) {
  const child = spawn(command, args, {env, stdio: ['ignore', 'pipe', 'inherit']})
  let bytes = 0
  let peakKb = 0
  let cpuTicks = 0
  const sample = () => {
    try {
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]))
      // utime + stime (clock ticks): the CPU the process itself used, which a loaded machine barely changes.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      cpuTicks = Math.max(cpuTicks, Number(fields[11]) + Number(fields[12]))
    } catch {}
  }

  const sampler = setInterval(sample, 50)
  child.stdout.on('data', (chunk) => {
    bytes += chunk.length
  })
  const start = process.hrtime.bigint()
  const code = await new Promise((resolvePromise) => {
    child.stdout.on('end', sample)
    child.on('close', resolvePromise)
  })
  clearInterval(sampler)
  if (code !== 0) throw new Error(`${command} exited ${code}`)
  return {bytes, cpuSeconds: cpuTicks / 100, peakKb, seconds: Number(process.hrtime.bigint() - start) / 1e9}
}

/** Secrets for a workload: random base64url tokens, or (prefix) 1,000 webhook URLs sharing a 47-byte prefix. */
const PREFIX = 'https://hooks.example.com/services/T0000/B0000/'
const makeSecrets = (workload, count) =>
  Array.from({length: count}, () => (workload === 'prefix' ? `${PREFIX}${randomBytes(18).toString('base64url')}` : randomBytes(12 + Math.floor(Math.random() * 24)).toString('base64url')))

/** 16 MiB of output with a secret every ~64 KiB: log lines, base64 lines (76 chars), or log lines full of the secrets' prefix. */
function makeData(workload, secrets) {
  const lines = []
  let size = 0
  for (let index = 0; size < 16 * 1024 * 1024; index++) {
    const secret = index % 700 === 0 ? secrets[index % secrets.length] : undefined
    let line
    if (workload === 'base64') line = secret ? `${Buffer.from(`Basic ops:${secret}`).toString('base64')}\n` : `${randomBytes(57).toString('base64')}\n`
    else if (workload === 'prefix') line = secret ? `INFO posted to ${secret} ok\n` : `INFO ${index} posted to ${PREFIX}${randomBytes(18).toString('base64url')} in ${index % 97} ms\n`
    else line = secret ? `INFO request ${index} token=${secret} ok\n` : `INFO 2026-11-24T05:00:00Z worker-${index % 8} processed record ${index} in ${index % 97} ms status=ok\n`
    lines.push(line)
    size += line.length
  }

  return lines.join('')
}

/**
 * MB/s and keyflow's peak RSS for `keyflow run --mask always` over each workload and secret
 * count, against the same producer through `cat` in a pipe. Targets (issue 10, 16): >= 300 MB/s
 * on the shared-prefix worst case; peak RSS <= 90 MB whatever the count.
 */
async function mask(totalMiB) {
  const repeats = Math.max(1, Math.round(totalMiB / 16))
  let missed = false
  for (const workload of ['log', 'base64', 'prefix']) {
    for (const secretCount of workload === 'prefix' ? [1000] : [1, 100, 1000]) {
      const secrets = makeSecrets(workload, secretCount)
      const envFile = join(dir, 'secrets.env')
      writeFileSync(envFile, secrets.map((value, index) => `S${index}=${value}`).join('\n') + '\n', {mode: 0o600})
      writeFileSync(join(dir, 'keyflow.json'), JSON.stringify({envFiles: [envFile], run: {mask: 'always', secrets: secrets.map((_, index) => `S${index}`)}}))
      const data = join(dir, 'data.log')
      writeFileSync(data, makeData(workload, secrets))
      const loop = `i=0; while [ $i -lt ${repeats} ]; do cat "$0"; i=$((i+1)); done`
      const env = {...baseEnv, KEYFLOW_PROJECT_FILE: join(dir, 'keyflow.json')}
      // eslint-disable-next-line no-await-in-loop
      const plain = await pipeRun('sh', ['-c', `(${loop}) | cat`, data], env)
      // eslint-disable-next-line no-await-in-loop
      const masked = await pipeRun(process.execPath, [BIN, 'run', '--', 'sh', '-c', loop, data], env)
      const rssMb = masked.peakKb / 1024
      const ratio = Number(mbps(masked)) / Number(mbps(plain))
      const target = workload === 'prefix' ? 300 : undefined
      if ((target !== undefined && Number(mbps(masked)) < target) || rssMb > 90) missed = true
      console.log(
        `mask     ${workload.padEnd(6)} ${String(secretCount).padStart(4)} secrets, ${(plain.bytes / 2 ** 20).toFixed(0)} MiB: keyflow run ${mbps(masked)} MB/s, through cat ${mbps(plain)} MB/s (${ratio.toFixed(2)}x); ` +
          `keyflow itself ${(masked.bytes / 1e6 / masked.cpuSeconds).toFixed(0)} MB per CPU-second; keyflow peak RSS ${rssMb.toFixed(0)} MB${target ? ` (target >= ${target} MB/s: ${Number(mbps(masked)) >= target ? 'met' : 'MISSED'})` : ''}`,
      )
      if (process.env.BENCH_SUMMARY) {
        appendFileSync(process.env.BENCH_SUMMARY, JSON.stringify({bench: 'run-mask', mbps: Number(mbps(masked)), metric: `${workload} x${secretCount}`, ratio, rssMb: Math.round(rssMb)}) + '\n')
      }
    }
  }

  if (missed) process.exitCode = 3
}

async function freePort() {
  return new Promise((resolvePromise) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolvePromise(port))
    })
  })
}

async function aws(count = 100, delayMs = 50) {
  const port = await freePort()
  const moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {stdio: 'ignore'})
  const motoUrl = `http://127.0.0.1:${port}`
  try {
    for (let ready = false; !ready; ) {
      try {
        // eslint-disable-next-line no-await-in-loop
        ready = (await fetch(`${motoUrl}/moto-api/data.json`)).ok
      } catch {
        // eslint-disable-next-line no-await-in-loop
        await new Promise((resolvePromise) => {
          setTimeout(resolvePromise, 100)
        })
      }
    }

    const proxy = await startCountingProxy(motoUrl, {delayMs})
    const awsEnv = {AWS_ACCESS_KEY_ID: 'bench', AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL: proxy.url, AWS_REGION: 'us-east-1', AWS_SECRET_ACCESS_KEY: 'bench'}
    Object.assign(process.env, awsEnv, {AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'})
    const sdk = await import('@aws-sdk/client-secrets-manager')
    const client = new sdk.SecretsManagerClient({endpoint: motoUrl, maxAttempts: 1, region: 'us-east-1'})
    const names = Array.from({length: count}, (_, index) => `BENCH_${index}`)
    await Promise.all(names.map((name) => client.send(new sdk.CreateSecretCommand({Name: name, SecretString: randomBytes(16).toString('hex')}))))

    const sequential = new sdk.SecretsManagerClient({endpoint: proxy.url, region: 'us-east-1'})
    let start = process.hrtime.bigint()
    // The baseline is one call after another, as a tool without batching makes them.
    // eslint-disable-next-line no-await-in-loop
    for (const name of names) await sequential.send(new sdk.GetSecretValueCommand({SecretId: name}))
    const sequentialMs = Number(process.hrtime.bigint() - start) / 1e6

    const {parseReference} = await import(join(ROOT, 'dist', 'lib', 'secret', 'reference.js'))
    const {resolveReferences} = await import(join(ROOT, 'dist', 'lib', 'secret', 'chain.js'))
    const {createInvocation} = await import(join(ROOT, 'dist', 'lib', 'invocation.js'))
    const resolverMs = []
    for (let run = 0; run < 5; run++) {
      start = process.hrtime.bigint()
      // One invocation per run, as one CLI run has: its own settings, chain and clients.
      const {chain} = createInvocation({env: {...baseEnv, ...awsEnv}, flags: {sources: ['aws']}})
      // eslint-disable-next-line no-await-in-loop
      const resolved = await resolveReferences(names.map((name) => parseReference(name)), chain)
      resolverMs.push(Number(process.hrtime.bigint() - start) / 1e6)
      if (!resolved.every((resolution) => resolution.ok)) throw new Error('a secret did not resolve')
    }

    proxy.reset()
    const runMs = []
    // eslint-disable-next-line no-await-in-loop
    for (let run = 0; run < 5; run++) runMs.push(await timeAsyncMs(process.execPath, [BIN, 'run', ...names.flatMap((name) => ['--secret', name]), '--', 'true'], {...baseEnv, ...awsEnv}))
    const callsPerRun = proxy.total() / 5
    await proxy.stop()
    const resolver = median(resolverMs)
    console.log(
      `aws      ${count} secrets, +${delayMs} ms per call: sequential GetSecretValue ${sequentialMs.toFixed(0)} ms; keyflow resolver ${resolver.toFixed(0)} ms (${(sequentialMs / resolver).toFixed(1)}x); ` +
        `keyflow run -- true end to end ${median(runMs).toFixed(0)} ms (${(sequentialMs / median(runMs)).toFixed(1)}x, ${callsPerRun} API calls per run)`,
    )
  } finally {
    moto.kill('SIGTERM')
  }
}

const wanted = process.argv.slice(2)
const all = wanted.length === 0
try {
  if (all || wanted.includes('startup')) startup()
  if (all || wanted.includes('mask')) await mask(Number(process.env.BENCH_MASK_MIB ?? (process.env.BENCH_QUICK ? 64 : 512)))
  if (all || wanted.includes('aws')) await aws()
} finally {
  rmSync(dir, {force: true, recursive: true})
}
