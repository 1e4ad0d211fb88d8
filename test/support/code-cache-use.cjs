// Preloaded with --require (NODE_OPTIONS) into a keyflow process: at exit it writes, one JSON
// line per vm.Script made, its file, whether it was given a code cache, and whether V8 rejected
// it, to the file named by KEYFLOW_TEST_CODE_CACHE_TRACE: a test can see which bundles compiled
// from their caches (bin/run.js) without touching keyflow.
/* global process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const {writeFileSync} = require('node:fs')
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const vm = require('node:vm')

const {Script} = vm
const scripts = []
vm.Script = function (source, options) {
  const script = new Script(source, options)
  scripts.push({file: options?.filename, given: options?.cachedData !== undefined, script})
  return script
}

process.on('exit', () => {
  writeFileSync(process.env.KEYFLOW_TEST_CODE_CACHE_TRACE, scripts.map(({file, given, script}) => JSON.stringify({file, given, rejected: script.cachedDataRejected === true})).join('\n') + '\n')
})
