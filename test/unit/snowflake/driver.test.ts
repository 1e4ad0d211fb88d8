import {expect} from 'chai'
import {describe, it} from 'mocha'
import {execFileSync} from 'node:child_process'

import {DEFERRED_DRIVER_PACKAGES} from '../../../src/lib/snowflake/driver.js'

/**
 * Loads snowflake-sdk in a child process (not this one, which then stays free of its SDKs), with
 * nothing deferred, and reports each deferred package: loaded by the driver as it loads, and
 * the type of its exports.
 */
function driverLoad(): Record<string, {loaded: boolean; type: string}> {
  const script = `
    const {createRequire} = require('node:module')
    const driver = require.resolve('snowflake-sdk')
    const fromDriver = createRequire(driver)
    require(driver)
    const report = {}
    for (const name of JSON.parse(process.argv[1])) {
      const filename = fromDriver.resolve(name)
      report[name] = {loaded: filename in require.cache, type: typeof fromDriver(name)}
    }
    process.stdout.write(JSON.stringify(report))
  `
  const env = {...process.env, SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true'}
  return JSON.parse(execFileSync(process.execPath, ['-e', script, JSON.stringify(DEFERRED_DRIVER_PACKAGES)], {encoding: 'utf8', env}))
}

describe("snowflake-sdk's deferred packages", () => {
  it('are each required by the driver as it loads, and export an object (a stand-in can be neither called nor constructed)', () => {
    const report = driverLoad()
    for (const name of DEFERRED_DRIVER_PACKAGES) expect(report[name], name).to.deep.equal({loaded: true, type: 'object'})
  })
})
