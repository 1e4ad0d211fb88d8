// Preloaded with --require (NODE_OPTIONS) into a keyflow process: at exit it writes, one a line,
// which of process.stdin, process.stdout and process.stderr the process made (Node makes each
// when it is first read), to the file named by KEYFLOW_TEST_STDIO_TRACE: a test can see that a
// command left a stream unmade (each costs a millisecond or more) without touching keyflow.
/* global process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with --require */
const {writeFileSync} = require('node:fs')

const made = new Set()
for (const name of ['stdin', 'stdout', 'stderr']) {
  const {get, ...descriptor} = Object.getOwnPropertyDescriptor(process, name)
  Object.defineProperty(process, name, {
    ...descriptor,
    get() {
      made.add(name)
      return get.call(process)
    },
  })
}

process.on('exit', () => {
  writeFileSync(process.env.KEYFLOW_TEST_STDIO_TRACE, [...made].map((name) => `${name}\n`).join(''))
})
