import {expect} from 'chai'
import {describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, BIN, OCLIF_ENTRY, tempDir} from '../support/cli.js'

/**
 * Review (issue 16, bad input): keyflow started in a directory that was removed (a build
 * directory cleaned under a running shell). resolveSettings calls process.cwd() unguarded, so
 * `secret get` of a variable that is set ends with "keyflow failed unexpectedly. This is a bug"
 * (exit 1) on both paths, and oclif's path adds oclif's own "WARNING: current directory does not
 * exist": the two paths' stderr differ too.
 */
describe('review: keyflow in a working directory that no longer exists', () => {
  it('secret get PLAIN: no "This is a bug", and the same stderr and exit code on both paths', () => {
    const dir = tempDir()
    try {
      const gone = join(dir.path, 'gone')
      mkdirSync(gone)
      const env = {...baseEnv(dir.path), PLAIN: 'plain-value'}
      const results = [BIN, OCLIF_ENTRY].map((script) =>
        // The shell enters the directory, removes it, then starts keyflow there.
        spawnSync('sh', ['-c', `cd "$1" && rmdir "$1" && exec "$0" -- "$2" secret get PLAIN`, process.execPath, gone, script], {encoding: 'utf8', env}),
      )
      for (const result of results) expect(result.stderr).to.not.match(/This is a bug/)
      expect({code: results[0].status, stderr: results[0].stderr}).to.deep.equal({code: results[1].status, stderr: results[1].stderr})
    } finally {
      rmSync(dir.path, {force: true, recursive: true})
    }
  })
})
