import {expect} from 'chai'
import {describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, BIN, OCLIF_ENTRY, tempDir} from '../support/cli.js'

/**
 * keyflow started in a directory that was removed (a build directory cleaned under a running
 * shell): a usage error saying so (CWD_GONE, exit 2), the same on both paths; it was "keyflow
 * failed unexpectedly. This is a bug" (exit 1), and oclif's path added a warning of its own.
 */
describe('keyflow in a working directory that no longer exists', () => {
  it('secret get PLAIN: no "This is a bug", and the same stderr and exit code on both paths', () => {
    const dir = tempDir()
    try {
      const env = {...baseEnv(dir.path), PLAIN: 'plain-value'}
      const results = [BIN, OCLIF_ENTRY].map((script, index) => {
        const gone = join(dir.path, `gone-${index}`)
        mkdirSync(gone)
        // The shell enters the directory, removes it, then starts keyflow there.
        return spawnSync('sh', ['-c', `cd "$1" && rmdir "$1" && exec "$0" -- "$2" secret get PLAIN`, process.execPath, gone, script], {encoding: 'utf8', env})
      })
      expect(results[0].stderr).to.equal('Error: The current directory no longer exists.\n  fix:   cd to a directory that exists, then run keyflow again.\n')
      expect(results[0].status).to.equal(2)
      for (const result of results) expect(result.stderr).to.not.match(/This is a bug/)
      expect({code: results[0].status, stderr: results[0].stderr}).to.deep.equal({code: results[1].status, stderr: results[1].stderr})
    } finally {
      rmSync(dir.path, {force: true, recursive: true})
    }
  })
})
