// Preloaded with --require (NODE_OPTIONS) into a keyflow run: SIGKILLs it at the spawn of the
// mkfifo that makes its FIFOs (Fifos in src/lib/run/supervise.ts), once their private directory
// is made. KEYFLOW_TEST_MKFIFO_KILL says when: `before` the spawn (the directory is left empty),
// or `after` it (mkfifo outlives keyflow and makes the FIFOs in the directory, and the spares).
// Deterministic: the signal comes at that exact step, with no timing.
/* global process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const childProcess = require('node:child_process')

const {spawn} = childProcess
childProcess.spawn = function (command, ...rest) {
  if (command !== 'mkfifo') return spawn.call(this, command, ...rest)
  if (process.env.KEYFLOW_TEST_MKFIFO_KILL === 'before') process.kill(process.pid, 'SIGKILL')
  const child = spawn.call(this, command, ...rest)
  process.kill(process.pid, 'SIGKILL')
  return child
}
