import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {dirname} from 'node:path'

import {baseEnv, BIN, tempDir} from '../support/cli.js'

/**
 * bin/run.js starts the way the kernel starts it, with the interpreter its first line names,
 * and here that interpreter is BusyBox's (Alpine images, container entrypoints): an `env -S`
 * shebang fails there. BusyBox comes from Debian's `busybox` package; .ci/run installs it.
 */
describe('packaging: bin/run.js under BusyBox', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const busybox = spawnSync('busybox', ['--help']).error ? undefined : 'busybox'

  before(function () {
    if (!busybox) {
      // Only on a machine without BusyBox; CI (.ci/run) installs it, so this never skips there.
      this.skip()
    }

    dir = tempDir()
    // node from the PATH, as the shebang line finds it: the one running the tests.
    env = {...baseEnv(dir.path), PATH: `${dirname(process.execPath)}:/usr/bin:/bin`}
  })

  after(() => dir?.cleanup())

  /** What execve does with `#!INTERPRETER [ARG]`, the interpreter swapped for the BusyBox applet of that name. */
  function execLikeKernel(args: string[]) {
    const [line] = readFileSync(BIN, 'utf8').split('\n')
    expect(line.startsWith('#!')).to.equal(true)
    const [interpreter, ...rest] = line.slice(2).trim().split(/\s+/)
    // Linux passes everything after the interpreter as one argument.
    const argument = rest.length > 0 ? [rest.join(' ')] : []
    const applet = interpreter.split('/').pop()!
    return spawnSync(busybox!, [applet, ...argument, BIN, ...args], {encoding: 'utf8', env})
  }

  it('starts keyflow', () => {
    const result = execLikeKernel(['--version'])
    expect(result.stderr).to.equal('')
    expect(result.status).to.equal(0)
    expect(result.stdout).to.match(/^keyflow\/\d/)
  })

  it("passes every argument through untouched, and Node does not claim keyflow's --env-file", () => {
    // Node 20 exits 9 on `node SCRIPT --env-file MISSING` (nodejs/node#54232): keyflow must answer instead.
    const result = execLikeKernel(['secret', 'get', 'NOPE', '--env-file', 'missing.env', '--sources', 'dotenv'])
    expect(result.status).to.equal(4)
    expect(result.stderr).to.match(/^Error: Cannot read env file: no such file\./)
    expect(result.stderr).to.include('missing.env')
  })

  it('keeps arguments with spaces, quotes and dollars as they were', () => {
    const result = execLikeKernel(['secret', 'get', 'A B', "it's $HOME", '--json'])
    expect(result.status).to.equal(2)
    expect(result.stderr).to.include('"A B"')
  })
})
