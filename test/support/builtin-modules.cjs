// Preloaded with --require (NODE_OPTIONS) into a keyflow process: at exit it writes, one a line,
// the Node built-in modules the process loaded (process.moduleLoadList, "NativeModule zlib")
// and the files require() loaded (require.cache), to the file named by KEYFLOW_TEST_BUILTIN_TRACE,
// so a test can see what a command loaded without touching keyflow.
/* global process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const {writeFileSync} = require('node:fs')

process.on('exit', () => {
  writeFileSync(process.env.KEYFLOW_TEST_BUILTIN_TRACE, [...process.moduleLoadList, ...Object.keys(require.cache)].join('\n') + '\n')
})
