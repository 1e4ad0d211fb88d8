import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, BIN, tempDir} from '../support/cli.js'

describe('run: a masked run to a reader that is slow to start', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string

  beforeEach(() => {
    home = tempDir()
    env = baseEnv(home.path)
    envFile = join(home.path, 'secrets.env')
    writeFileSync(envFile, `TOKEN=${canary('tail')}\n`, {mode: 0o600})
  })

  afterEach(() => home.cleanup())

  for (const tmp of ['fifo', 'socketpair']) {
    it(`keeps the tail that waited in process.stdout for a reader that starts late (${tmp})`, () => {
      // 70,000 bytes: the first 64 KiB fill keyflow's stdout pipe and the rest waits in
      // process.stdout, under its high-water mark; the child has exited by the time the reader
      // starts, a second later. keyflow's exit status goes through a file.
      const script = String.raw`import os; os.write(1, b'a' * 70000); os.write(1, b'TAIL\n')`
      const status = join(home.path, 'status')
      const result = spawnSync('sh', ['-c', `("$0" -- "$@"; echo $? > ${status}) | (sleep 1; wc -c)`, process.execPath, BIN, 'run', '--env-file', envFile, '--secret', 'T=TOKEN', '--', 'python3', '-c', script], {
        encoding: 'utf8',
        env: tmp === 'fifo' ? env : {...env, TMPDIR: join(home.path, 'no-such-dir')},
      })
      expect(result.stderr).to.equal('')
      expect(Number(readFileSync(status, 'utf8'))).to.equal(0)
      expect(Number(result.stdout.trim())).to.equal(70_005)
    })
  }
})
