#!/usr/bin/env node
/**
 * `keyflow secret ls` over 1,000 AWS secrets behind a proxy adding 50 ms to every call.
 * ListSecrets answers at most 100 secrets a page and each page needs the previous page's
 * NextToken, so 10 sequential calls (10 x 50 ms) is the floor for any client. Measured in the
 * same run: that floor as the AWS SDK itself pages (in this process, no start-up), and
 * `keyflow secret ls --sources aws --prefix bench/ --json` end to end (median of 5): its calls
 * per run must equal the page minimum; its time is reported as a ratio to the floor plus one
 * `node -e 0` start.
 *
 *   node bench/secret-ls.bench.mjs          (needs `npm run build` and python3 with moto)
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {startCountingProxy} from '../test/support/counting-proxy.mjs'
import {BIN, median, report, startMoto} from './support.mjs'

const COUNT = 1000
const DELAY_MS = 50
const PAGE = 100
const RUNS = Number(process.env.BENCH_QUICK ? 3 : 5)
const dir = mkdtempSync(join(tmpdir(), 'keyflow-bench-'))
const baseEnv = {HOME: dir, KEYFLOW_HOME: join(dir, '.keyflow'), KEYFLOW_PROJECT_FILE: '', LANG: 'C.UTF-8', NO_COLOR: '1', PATH: process.env.PATH}

const since = (start) => Number(process.hrtime.bigint() - start) / 1e6

async function timeCli(args, env) {
  const start = process.hrtime.bigint()
  const {code, stdout} = await new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], {env, stdio: ['ignore', 'pipe', 'inherit']})
    const chunks = []
    child.stdout.on('data', (chunk) => chunks.push(chunk))
    child.on('close', (exit) => resolvePromise({code: exit, stdout: Buffer.concat(chunks).toString('utf8')}))
  })
  if (code !== 0) throw new Error(`keyflow ${args.join(' ')} exited ${code}`)
  return {ms: since(start), stdout}
}

const moto = await startMoto()
const motoUrl = moto.url
try {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const sdk = await import('@aws-sdk/client-secrets-manager')
  const credentials = {accessKeyId: 'bench', secretAccessKey: 'bench'}
  // moto's first calls load its backend and can fail under load: seeding retries.
  const seed = new sdk.SecretsManagerClient({credentials, endpoint: motoUrl, maxAttempts: 5, region: 'us-east-1'})
  const names = [...Array.from({length: COUNT}, (_, index) => `bench/S_${index}`), ...Array.from({length: 50}, (_, index) => `other/S_${index}`)]
  for (let index = 0; index < names.length; index += 50) {
    // eslint-disable-next-line no-await-in-loop
    await Promise.all(names.slice(index, index + 50).map((name) => seed.send(new sdk.CreateSecretCommand({Name: name, SecretString: 'x'}))))
  }

  const proxy = await startCountingProxy(motoUrl, {delayMs: DELAY_MS})
  const awsEnv = {AWS_ACCESS_KEY_ID: 'bench', AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL: proxy.url, AWS_REGION: 'us-east-1', AWS_SECRET_ACCESS_KEY: 'bench'}

  // The floor: the SDK paging ListSecrets through the same proxy, in this process.
  const client = new sdk.SecretsManagerClient({credentials, endpoint: proxy.url, region: 'us-east-1'})
  const floorMs = []
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint()
    let listed = 0
    let token
    do {
      // eslint-disable-next-line no-await-in-loop
      const page = await client.send(new sdk.ListSecretsCommand({Filters: [{Key: 'name', Values: ['bench/']}], MaxResults: PAGE, NextToken: token}))
      listed += page.SecretList.length
      token = page.NextToken || undefined
    } while (token)

    floorMs.push(since(start))
    if (listed !== COUNT) throw new Error(`the SDK listed ${listed} secrets, not ${COUNT}`)
  }

  const nodeMs = []
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint()
    spawnSync(process.execPath, ['-e', '0'])
    nodeMs.push(since(start))
  }

  proxy.reset()
  const keyflowMs = []
  for (let run = 0; run < RUNS; run++) {
    // eslint-disable-next-line no-await-in-loop
    const {ms, stdout} = await timeCli(['secret', 'ls', '--sources', 'aws', '--prefix', 'bench/', '--json'], {...baseEnv, ...awsEnv})
    keyflowMs.push(ms)
    const {secrets} = JSON.parse(stdout)
    if (secrets.length !== COUNT) throw new Error(`keyflow listed ${secrets.length} secrets, not ${COUNT}`)
  }

  const calls = proxy.total() / RUNS
  await proxy.stop()
  const pageMinimum = Math.ceil(COUNT / PAGE)
  const floor = median(floorMs)
  const keyflow = median(keyflowMs)
  const ratio = keyflow / (floor + median(nodeMs))
  console.log(
    `secret ls  ${COUNT} AWS secrets, +${DELAY_MS} ms per call: keyflow ${keyflow.toFixed(0)} ms, ${calls} calls per run (page minimum ${pageMinimum}: ${calls === pageMinimum ? 'met' : 'MISSED'}); ` +
      `SDK paging floor ${floor.toFixed(0)} ms in-process (${pageMinimum} x ${DELAY_MS} ms = ${pageMinimum * DELAY_MS} ms), node -e 0 ${median(nodeMs).toFixed(0)} ms; ratio ${ratio.toFixed(2)}x floor + node start (${RUNS} runs each)`,
  )
  const measure = `secret ls, ${COUNT} AWS secrets, +${DELAY_MS} ms per call`
  report({baseline: 'the ListSecrets page minimum', baselineValue: pageMinimum, measure: `${measure}: AWS calls`, met: calls === pageMinimum, target: `<= ${pageMinimum}`, unit: 'calls', value: calls})
  report({baseline: 'SDK paging floor in process + node -e 0', baselineValue: floor + median(nodeMs), measure, ratio, unit: 'ms', value: keyflow})

  if (calls !== pageMinimum) process.exitCode = 3
} finally {
  moto.stop()
  rmSync(dir, {force: true, recursive: true})
}
