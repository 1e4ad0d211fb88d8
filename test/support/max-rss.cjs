// Preloaded with --require (NODE_OPTIONS) into a keyflow process: at exit it writes the process's
// peak resident set size in KiB (process.resourceUsage().maxRSS) to the file named by
// KEYFLOW_TEST_MAX_RSS, so a test can see that a start did not read a huge file into memory
// without timing it.
/* global process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const {writeFileSync} = require('node:fs')

process.on('exit', () => {
  writeFileSync(process.env.KEYFLOW_TEST_MAX_RSS, `${process.resourceUsage().maxRSS}\n`)
})
