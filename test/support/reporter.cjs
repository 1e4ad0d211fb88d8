// Mocha's spec reporter plus the plain "N passed, N failed, N skipped" closing line CI reads.
// With KEYFLOW_TEST_TIMES=FILE, it also appends each test file's time to FILE as JSON lines
// ({file, ms, tests}): the sum of its tests' durations, which parallel runs report too.
/* global module, process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- mocha loads reporters with require() */
const Mocha = require('mocha')
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS reporter */
const {appendFileSync} = require('node:fs')
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS reporter */
const {relative} = require('node:path')

const {EVENT_RUN_END, EVENT_TEST_END} = Mocha.Runner.constants

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    const times = new Map()
    runner.on(EVENT_TEST_END, (test) => {
      let {file} = test
      for (let {parent} = test; !file && parent; parent = parent.parent) file = parent.file
      const entry = times.get(file) ?? {ms: 0, tests: 0}
      entry.ms += test.duration ?? 0
      entry.tests += 1
      times.set(file, entry)
    })
    runner.once(EVENT_RUN_END, () => {
      const {failures, passes, pending} = runner.stats
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`)
      const out = process.env.KEYFLOW_TEST_TIMES
      if (!out) return
      for (const [file, {ms, tests}] of times) {
        appendFileSync(out, JSON.stringify({file: file ? relative(process.cwd(), file) : '?', ms, tests}) + '\n')
      }
    })
  }
}

module.exports = Reporter
