// `npm run build`'s last step, once the bundles (scripts/bundle.mjs) and oclif.manifest.json
// are written: the V8 code cache of each bundle, which bin/run.js compiles it from.
// Before each cache is written the bundle runs the commands start-up time matters most for
// (docs/performance.md), so the functions they call are in the cache too, not only the module
// code: in a child process of this script, on a throwaway HOME and keyflow home, with their
// output discarded.
// bin/run.js's process.exit after an oclif command cannot run here; what it shares with these
// commands is cached all the same.
const {spawnSync} = require('node:child_process')
const {existsSync, mkdtempSync, rmSync, writeFileSync} = require('node:fs')
const {tmpdir} = require('node:os')
const {join} = require('node:path')

const {cacheFile, loadBundle, writeCodeCache} = require('../bin/run.js')

const ROOT = join(__dirname, '..')
const bundle = (name) => join(ROOT, 'dist', `${name}.cjs`)

/** What `run` ends keyflow with (its command's exit code) ends only the exercise here. */
class RunExited extends Error {}

/**
 * `keyflow run` as a project runs it: a secret of a .env that keyflow.json names, injected and
 * printed by the command through the masked pipes. Its process.exit throws instead, which the
 * fast path reports on this process's stderr (discarded) as it would any error.
 */
async function exerciseRun(fastPath, _host, home) {
  writeFileSync(join(home, '.env'), 'KEYFLOW_CODE_CACHE_RUN=code-cache-run-value\n', {mode: 0o600})
  writeFileSync(join(home, 'keyflow.json'), JSON.stringify({envFiles: [join(home, '.env')], run: {secrets: ['KEYFLOW_CODE_CACHE_RUN']}}))
  process.env.KEYFLOW_PROJECT_FILE = join(home, 'keyflow.json')
  const {exit} = process
  process.exit = (code) => {
    throw new RunExited(`run exited with ${code}`)
  }

  try {
    await fastPath.runFastPath(['run', '--mask', 'always', '--', process.execPath, '-e', 'console.log(process.env.PREFECT__CONTEXT__SECRETS__KEYFLOW_CODE_CACHE_RUN)'])
    // The fast path did not serve it: the bundle no longer has run's fast path (see fastPath in src/fast-path.ts).
    throw new Error('keyflow run went to oclif, not to the fast path.')
  } catch (error) {
    // The fast path reports a failure and then exits too: that second exit ends the exercise.
    if (!(error instanceof RunExited)) throw error
  } finally {
    process.exit = exit
    process.exitCode = undefined
    process.env.KEYFLOW_PROJECT_FILE = ''
  }
}

const CACHED_AWS_SECRET = 'keyflow-code-cache/aws'

/**
 * Puts an AWS secret in the encrypted cache (docs/cache.md) of this exercise's keyflow home, so
 * that a `secret get` of it with --cache-ttl is answered from the cache, a path scripts take
 * once per secret: its functions (the cache layer, the entry's decryption, the master key's
 * reading) would otherwise be compiled at every such start. The entry is written by keyflow's
 * own cache layer, through the library (dist/, not the bundle, so the cache holds only what the
 * cached get compiles), from a Secrets Manager connection that answers this one GetSecretValue
 * in memory: no AWS SDK, no network.
 */
async function cacheAwsSecret() {
  // The entry's identity includes these; and a get the entry failed to answer would ask a closed
  // loopback port with made-up keys, and fail the build, never reach AWS.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'code-cache',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
    AWS_REGION: 'us-east-1',
    AWS_SECRET_ACCESS_KEY: 'code-cache',
  })
  const {createInvocation, resolveSecret} = await import('../dist/index.js')
  const api = {
    async checkConfigured() {},
    destroy() {},
    async get({secretId}) {
      return {arn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}-AbCdEf`, name: secretId, value: 'code-cache-aws-value', versionId: 'code-cache-version', versionStages: ['AWSCURRENT']}
    },
  }
  const invocation = createInvocation({connectSecretsManager: async () => api, flags: {cacheTtlMs: 3_600_000, sources: ['aws']}})
  if ((await resolveSecret(CACHED_AWS_SECRET, {invocation})) !== 'code-cache-aws-value') throw new Error('The exercise could not cache its AWS secret.')
}

/**
 * Each cache: its bundle and the commands run before it is written. Each is made in a child
 * process of its own, from a freshly evaluated bundle, so a cache holds only what its own
 * commands compiled.
 */
const CACHES = [
  {
    bundle: 'fast-path-get',
    async exercise(fastPath) {
      for (const args of [['secret', 'get', 'KEYFLOW_CODE_CACHE_SECRET'], ['--version']]) {
        // eslint-disable-next-line no-await-in-loop -- one command after another, as a shell runs them
        if (!(await fastPath.runFastPath(args))) throw new Error(`keyflow ${args.join(' ')} went to oclif, not to the fast path.`)
      }
    },
  },
  {bundle: 'fast-path-run', exercise: exerciseRun},
  {
    bundle: 'oclif',
    async exercise(oclif) {
      // Not --version: the init hook answers it and exits (the fast path serves it anyway). A
      // block to list and inspect, holding a reference (a secret field's value cannot be an argument).
      const commands = [
        ['--help'],
        ['block', 'create', 'secret', 'code-cache', '--field', 'value=env://KEYFLOW_CODE_CACHE_SECRET'],
        ['block', 'ls'],
        ['block', 'inspect', 'secret/code-cache'],
        ['block', 'type', 'ls'],
      ]
      for (const args of commands) {
        // eslint-disable-next-line no-await-in-loop -- one command after another, as a shell runs them
        await oclif.run(ROOT, args)
      }
    },
    requirable: true,
  },
]

/**
 * The fast bundles' lazy parts (scripts/bundle.mjs, LAZY), each after its bundle, exercised
 * through it: secret get's by a cached AWS get, whose cache store is the part's (the bundle's
 * own cache stays the env hit's: what it holds, every start reads). run's cold paths are
 * exercised by none, so its part's cache holds what evaluating the part compiles.
 */
CACHES.push(
  {
    bundle: 'fast-path-get-lazy',
    async exercise(_lazyPart, fastPath) {
      await cacheAwsSecret()
      const args = ['secret', 'get', CACHED_AWS_SECRET, '--sources', 'aws', '--cache-ttl', '1h']
      if (!(await fastPath.runFastPath(args))) throw new Error(`keyflow ${args.join(' ')} went to oclif, not to the fast path.`)
    },
    host: 'fast-path-get',
  },
  {bundle: 'fast-path-run-lazy', async exercise() {}, host: 'fast-path-run'},
)

const cachePath = ({bundle: name}) => cacheFile(bundle(name))

async function writeCache({bundle: name, exercise, host, requirable}) {
  const home = mkdtempSync(join(tmpdir(), 'keyflow-code-cache-'))
  try {
    process.chdir(home)
    Object.assign(process.env, {HOME: home, KEYFLOW_CODE_CACHE_SECRET: 'value', KEYFLOW_HOME: join(home, '.keyflow'), KEYFLOW_PROJECT_FILE: ''})
    const hostExports = host && loadBundle(bundle(host))
    const options = host ? {shared: hostExports.__keyflowShared()} : {requirable}
    await writeCodeCache(bundle(name), (exports) => exercise(exports, hostExports, home), options)
  } finally {
    rmSync(home, {force: true, recursive: true})
  }
}

if (process.argv[2] === 'child') {
  writeCache(CACHES[Number(process.argv[3])]).catch((error) => {
    process.exitCode = 1
    throw error
  })
} else {
  for (const [index, cache] of CACHES.entries()) {
    rmSync(cachePath(cache), {force: true})
    const child = spawnSync(process.execPath, [__filename, 'child', String(index)], {encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
    // A command that exits the process would end the child before the cache is written.
    if (child.status !== 0 || !existsSync(cachePath(cache))) {
      throw new Error(`Writing the code cache ${cachePath(cache)} failed (exit ${child.status ?? child.signal}):\n${child.stderr}`)
    }
  }
}
