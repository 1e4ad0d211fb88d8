// Mocha's spec reporter plus the plain "N passed, N failed, N skipped" closing line CI reads.
/* global module, require */
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- mocha loads reporters with require() */
const Mocha = require('mocha')

const {EVENT_RUN_END} = Mocha.Runner.constants

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const {failures, passes, pending} = runner.stats
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`)
    })
  }
}

module.exports = Reporter
