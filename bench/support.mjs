// What the benches share: the built CLI's path, medians, free ports, moto on loopback, and the
// rows each bench reports for `npm run bench`'s table (bench/run.js).
import {spawn} from 'node:child_process'
import {appendFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const BIN = join(ROOT, 'bin', 'run.js')

export const median = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export const sleep = (ms) =>
  new Promise((resolvePromise) => {
    setTimeout(resolvePromise, ms)
  })

export async function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolvePromise(port))
    })
  })
}

/** moto's server on a free loopback port (python3 with moto[server]), once it answers; stop() ends it. */
export async function startMoto({timeoutMs = 60_000} = {}) {
  const port = await freePort()
  // moto's own threaded server, not the tests' one-request-at-a-time one (test/support/moto-server.py): a
  // bench measures calls in flight at once, as Secrets Manager serves them.
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {stdio: 'ignore'})
  const exited = new Promise((resolvePromise) => {
    child.on('exit', (code, signal) => resolvePromise(`moto exited (${code ?? signal}) before it answered`))
    child.on('error', (error) => resolvePromise(`moto did not start: ${error.message}`))
  })
  const url = `http://127.0.0.1:${port}`
  const stop = () => child.kill('SIGTERM')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      // eslint-disable-next-line no-await-in-loop
      if ((await fetch(`${url}/moto-api/data.json`)).ok) return {stop, url}
    } catch {}

    // eslint-disable-next-line no-await-in-loop
    const failed = await Promise.race([exited, sleep(100)])
    if (typeof failed === 'string' || Date.now() > deadline) {
      stop()
      throw new Error(typeof failed === 'string' ? failed : `moto did not answer within ${timeoutMs / 1000} s`)
    }
  }
}

/**
 * One row of `npm run bench`'s table, appended to the file BENCH_SUMMARY names:
 * {measure, baseline?, baselineValue?, value, unit, ratio? (number, or text such as "+3.1 ms"),
 * target? (text), met? (boolean)}.
 */
export function report(row) {
  if (process.env.BENCH_SUMMARY) appendFileSync(process.env.BENCH_SUMMARY, JSON.stringify(row) + '\n')
}
