// `npm run build`'s last step, once the bundles (scripts/bundle.mjs) and oclif.manifest.json
// are written: the V8 code cache of each bundle, which bin/load-bundle.js compiles it from.
// Before each cache is written the bundle runs the commands start-up time matters most for
// (docs/performance.md), so the functions they call are in the cache too, not only the module
// code: in a child process of this script, on a throwaway HOME and keyflow home, with their
// output discarded.
// bin/run.js's process.exit after an oclif command, and `run`, which exits with its child,
// cannot run here; what they share with these commands is cached all the same.
const {spawnSync} = require('node:child_process')
const {mkdtempSync, rmSync} = require('node:fs')
const {tmpdir} = require('node:os')
const {join} = require('node:path')

const {writeCodeCache} = require('../bin/load-bundle.js')

const ROOT = join(__dirname, '..')
const bundle = (name) => join(ROOT, 'dist', `${name}.cjs`)

async function writeCaches() {
  const home = mkdtempSync(join(tmpdir(), 'keyflow-code-cache-'))
  try {
    process.chdir(home)
    Object.assign(process.env, {HOME: home, KEYFLOW_CODE_CACHE_SECRET: 'value', KEYFLOW_HOME: join(home, '.keyflow'), KEYFLOW_PROJECT_FILE: ''})
    await writeCodeCache(bundle('fast-path'), (fastPath) => fastPath.runFastPath(['secret', 'get', 'KEYFLOW_CODE_CACHE_SECRET']))
    await writeCodeCache(bundle('completion'), async () => {})
    await writeCodeCache(bundle('oclif'), async (oclif) => {
      for (const args of [['--version'], ['--help'], ['block', 'ls'], ['block', 'type', 'ls']]) {
        // eslint-disable-next-line no-await-in-loop -- one command after another, as a shell runs them
        await oclif.run(ROOT, args)
      }
    })
  } finally {
    rmSync(home, {force: true, recursive: true})
  }
}

if (process.argv[2] === 'child') {
  writeCaches().catch((error) => {
    process.exitCode = 1
    throw error
  })
} else {
  const child = spawnSync(process.execPath, [__filename, 'child'], {encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
  if (child.status !== 0) throw new Error(`Writing the code caches failed (exit ${child.status ?? child.signal}):\n${child.stderr}`)
}
