import {expect} from 'chai'
import {describe, it} from 'mocha'
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {DEFERRED_DRIVER_PACKAGES} from '../../../src/lib/snowflake/driver.js'
import {ROOT} from '../../support/cli.js'

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

  /**
   * Review of ac18d47: deferDriverPackages finds the driver with require's resolution
   * (createRequire(import.meta.url).resolve), which also searches NODE_PATH and the global folders
   * ($HOME/.node_modules, $HOME/.node_libraries, $PREFIX/lib/node); import('snowflake-sdk') searches
   * neither. A snowflake-sdk found only there (NODE_PATH=$(npm root -g), an older driver) is not
   * the one import() loads, and deferRequire resolves DEFERRED_DRIVER_PACKAGES from it: one it
   * does not have throws MODULE_NOT_FOUND out of loadSnowflake, and `keyflow sql` exits 1
   * (INTERNAL, "This is a bug") instead of 9 (SNOWFLAKE_DRIVER_MISSING).
   */
  it('is SNOWFLAKE_DRIVER_MISSING (exit 9) even with a snowflake-sdk on NODE_PATH that import() does not see', () => {
    const root = mkdtempSync(join(tmpdir(), 'keyflow-driver-'))
    try {
      // keyflow's compiled driver module and what it imports, with no node_modules next to them.
      const dist = join(ROOT, 'dist', 'lib')
      for (const file of ['errors.js', 'snowflake/driver.js', 'util/deferred-require.js', 'util/import-module.js']) {
        mkdirSync(dirname(join(root, 'keyflow', 'dist', 'lib', file)), {recursive: true})
        copyFileSync(join(dist, file), join(root, 'keyflow', 'dist', 'lib', file))
      }

      writeFileSync(join(root, 'keyflow', 'package.json'), JSON.stringify({name: 'keyflow', type: 'module'}))
      // A driver on NODE_PATH, without the dependencies 3.3 has.
      mkdirSync(join(root, 'path', 'snowflake-sdk'), {recursive: true})
      writeFileSync(join(root, 'path', 'snowflake-sdk', 'package.json'), JSON.stringify({main: 'index.js', name: 'snowflake-sdk', version: '2.0.0'}))
      writeFileSync(join(root, 'path', 'snowflake-sdk', 'index.js'), 'module.exports = {configure() {}}\n')
      const script = `
        const {loadSnowflake} = await import(process.argv[1])
        await loadSnowflake().then(() => console.log(JSON.stringify({loaded: true})), (error) => console.log(JSON.stringify({code: error.code, exit: error.exit})))
      `
      const env = {...process.env, NODE_OPTIONS: '', NODE_PATH: join(root, 'path')}
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(join(root, 'keyflow', 'dist', 'lib', 'snowflake', 'driver.js')).href], {cwd: root, encoding: 'utf8', env})
      expect(JSON.parse(output)).to.deep.equal({code: 'SNOWFLAKE_DRIVER_MISSING', exit: 9})
    } finally {
      rmSync(root, {force: true, recursive: true})
    }
  })
})
