// Preloaded with --require (NODE_OPTIONS) into a keyflow run: right after its first rename of a
// spare FIFO to a claimed (`taken-`) name in the stash (FifoStash in src/lib/run/supervise.ts),
// the process sends itself KEYFLOW_TEST_CLAIM_SIGNAL: SIGKILL plays a run killed between the
// claim and the removal of the name, SIGSTOP one still at it when another run sweeps the stash.
// Deterministic: the signal comes at that exact step, with no timing.
/* global process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const fs = require('node:fs')

const rename = fs.renameSync
let signalled = false
fs.renameSync = function (from, to, ...rest) {
  const result = rename.call(this, from, to, ...rest)
  if (!signalled && /\/keyflow-run-\d+\/taken-[^/]*$/.test(String(to))) {
    signalled = true
    process.kill(process.pid, process.env.KEYFLOW_TEST_CLAIM_SIGNAL)
  }

  return result
}
