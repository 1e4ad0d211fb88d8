#!/usr/bin/env node
/**
 * `npm run demo`: keyflow's main job from a fresh clone, no cloud account. It stores random
 * demo secrets with `keyflow secret set` (value on stdin) in a private dotenv file (0600 in a
 * 0700 temp dir, removed afterwards), then runs the example flows under `keyflow run`, which
 * reads what to inject from this directory's keyflow.json.
 */
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const bin = join(root, 'bin', 'run.js')
function main() {
if (!existsSync(join(root, 'dist', 'commands', 'run.js'))) {
  console.error('keyflow is not built yet: run `npm install` (or `npm run build`) first.')
  return 1
}

const dir = mkdtempSync(join(tmpdir(), 'keyflow-demo-'))
const envFile = join(dir, 'secrets.env')
const secrets = {API_TOKEN: `tok_${randomBytes(16).toString('hex')}`, DB_PASSWORD: randomBytes(12).toString('hex')}

const hasPython = spawnSync('python3', ['--version'], {stdio: 'ignore'}).status === 0
const flows = [
  ...(hasPython ? [['python3', join(root, 'examples', 'prefect1-flow', 'flow.py')]] : []),
  [process.execPath, join(root, 'examples', 'node-flow', 'flow.mjs')],
]
let status = 0
try {
  for (const [name, value] of Object.entries(secrets)) {
    console.error(`$ printf %s "$${name}" | keyflow secret set ${name} --to dotenv=${envFile}`)
    status = spawnSync(process.execPath, [bin, 'secret', 'set', name, '--to', `dotenv=${envFile}`], {input: value, stdio: ['pipe', 'ignore', 'inherit']}).status ?? 1
    if (status !== 0) return status
  }

  for (const flow of flows) {
    console.error(`\n$ keyflow run --env-file ${envFile} -- ${flow.map((part) => (part === process.execPath ? 'node' : part.replace(root + '/', ''))).join(' ')}`)
    const result = spawnSync(process.execPath, [bin, 'run', '--env-file', envFile, '--', ...flow], {
      cwd: here,
      env: {...process.env, KEYFLOW_PROJECT_FILE: join(here, 'keyflow.json')},
      stdio: 'inherit',
    })
    status = result.status ?? 1
    if (status !== 0) break
  }
} finally {
  rmSync(dir, {force: true, recursive: true})
}

console.error(status === 0 ? '\nThe secrets reached the flows through their environment; every printed value was masked.' : '')
return status
}

process.exitCode = main()
