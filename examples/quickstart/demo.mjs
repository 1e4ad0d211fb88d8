#!/usr/bin/env node
/**
 * `npm run demo`: keyflow's main jobs from a fresh clone, no cloud account. It writes random
 * demo secrets to a private dotenv file (0600 in a 0700 temp dir, with its own KEYFLOW_HOME;
 * all removed afterwards), then shows, as the commands a user would type:
 * a secret read through the chain and why the chain answered as it did (--explain); a block
 * saved with its secret from stdin, shown masked; and flows run under `keyflow run` with what
 * this directory's keyflow.json declares, their careless log lines masked.
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
    console.error('keyflow is not built yet: run `npm run build` first.')
    return 1
  }

  const dir = mkdtempSync(join(tmpdir(), 'keyflow-demo-'))
  const envFile = join(dir, 'secrets.env')
  const env = {...process.env, KEYFLOW_ENV_FILES: envFile, KEYFLOW_HOME: join(dir, 'home'), KEYFLOW_PROJECT_FILE: join(here, 'keyflow.json')}
  const shown = (part) => (part === process.execPath ? 'node' : part.replace(`${root}/`, ''))

  /** One step: the command as a user types it, then what keyflow prints. */
  function step(comment, args, input) {
    console.log(`\n# ${comment}\n$ ${input === undefined ? '' : 'printf %s "$VALUE" | '}keyflow ${args.map((part) => shown(part)).join(' ')}`)
    const result = spawnSync(process.execPath, ['--', bin, ...args], {cwd: here, encoding: 'utf8', env, input: input ?? ''})
    process.stdout.write(result.stdout)
    process.stderr.write(result.stderr)
    return result.status ?? 1
  }

  const hasPython = spawnSync('python3', ['--version'], {stdio: 'ignore'}).status === 0
  const steps = [
    () => step('Store the demo\'s secrets with `keyflow secret set`: the value comes from stdin, never argv, into a 0600 dotenv file:', ['secret', 'set', 'DB_PASSWORD', '--to', `dotenv=${envFile}`], randomBytes(12).toString('hex')),
    () => step('And a second one:', ['secret', 'set', 'API_TOKEN', '--to', `dotenv=${envFile}`], `tok_${randomBytes(16).toString('hex')}`),
    () => step(`The demo's secrets are in ${shown(envFile)} (KEYFLOW_ENV_FILES); the chain finds DB_PASSWORD there (a demo value, printed):`, ['secret', 'get', 'DB_PASSWORD']),
    () => step('Which source answered, and why the others did not (never the value):', ['secret', 'get', 'DB_PASSWORD', '--explain']),
    () => step('A block: a typed document whose secret field comes from stdin, never argv, and is stored encrypted:', ['block', 'create', 'secret', 'demo-token', '--stdin-field', 'value'], `demo_${randomBytes(8).toString('hex')}`),
    () => step('Shown masked:', ['block', 'inspect', 'secret/demo-token']),
    ...(hasPython ? [() => step('A flow, given what keyflow.json declares; its careless log line is masked:', ['run', '--', 'python3', join(root, 'examples', 'prefect1-flow', 'flow.py')])] : []),
    () => step('The same for a Node flow, plus the block, injected as PREFECT__CONTEXT__SECRETS__SECRET__DEMO_TOKEN__VALUE:', ['run', '--block', 'secret/demo-token', '--', process.execPath, join(root, 'examples', 'node-flow', 'flow.mjs')]),
  ]
  let status = 0
  try {
    for (const run of steps) {
      status = run()
      if (status !== 0) break
    }
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }

  console.log(status === 0 ? '\nThe secrets reached the flows through their environment; every value they printed was masked.' : '')
  return status
}

process.exitCode = main()
