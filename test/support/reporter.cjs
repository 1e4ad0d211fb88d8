// Mocha's spec reporter plus the plain "N passed, N failed, N skipped" closing line CI reads.
// With KEYFLOW_TEST_TIMES=FILE, it also appends each test file's time to FILE as JSON lines
// ({file, ms, tests, testsMs, hooksMs, slowest}): ms is the sum of its tests' and hooks' durations
// (hooks start fixtures such as moto), which parallel runs report too; slowest names its three
// longest tests or hooks. scripts/test-times.mjs prints the table.
/* global module, process, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- mocha loads reporters with require() */
const Mocha = require('mocha')
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS reporter */
const {appendFileSync} = require('node:fs')
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS reporter */
const {relative} = require('node:path')

const {EVENT_HOOK_END, EVENT_RUN_END, EVENT_TEST_END} = Mocha.Runner.constants

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    const times = new Map()
    const record = (runnable, kind) => {
      let {file} = runnable
      for (let {parent} = runnable; !file && parent; parent = parent.parent) file = parent.file
      // Root hooks (test/hooks.ts) belong to no file.
      if (!file && kind === 'hooksMs') return
      const entry = times.get(file) ?? {hooksMs: 0, ms: 0, slowest: [], tests: 0, testsMs: 0}
      const ms = runnable.duration ?? 0
      entry.ms += ms
      entry[kind] += ms
      if (kind === 'testsMs') entry.tests += 1
      entry.slowest = [...entry.slowest, {ms, title: runnable.title}].sort((a, b) => b.ms - a.ms).slice(0, 3)
      times.set(file, entry)
    }

    runner.on(EVENT_TEST_END, (test) => record(test, 'testsMs'))
    runner.on(EVENT_HOOK_END, (hook) => record(hook, 'hooksMs'))
    runner.once(EVENT_RUN_END, () => {
      const {failures, passes, pending} = runner.stats
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`)
      const out = process.env.KEYFLOW_TEST_TIMES
      if (!out) return
      for (const [file, entry] of times) {
        appendFileSync(out, JSON.stringify({file: file ? relative(process.cwd(), file) : '?', ...entry}) + '\n')
      }
    })
  }
}

module.exports = Reporter
