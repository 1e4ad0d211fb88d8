// Mocha's spec reporter plus the plain "N passed, N failed, N skipped" closing line CI reads.
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
