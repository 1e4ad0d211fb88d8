import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, constants, openSync, readFileSync, writeSync} from 'node:fs'
import {Socket} from 'node:net'
import {join} from 'node:path'

import {baseEnv, BIN, ROOT, runCli, tempDir} from '../support/cli.js'

const NOTHING_TO_INJECT = /^Warning: nothing to inject: no --secret, --source or --block, and no keyflow\.json in .*--allow-empty\.\n$/

/**
 * keyflow's own diagnostics while it runs a command (`run -- true` with nothing declared warns
 * once): written to fd 2 itself, so they must reach every kind of stderr, wait for a reader that
 * is slow, and never cost the command its exit code when stderr cannot take them.
 */
describe('run: warnings on stderr', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(() => {
    dir = tempDir()
    env = baseEnv(dir.path)
  })

  after(() => dir.cleanup())

  /** A FIFO's two ends, opened by this process; the read end is non-blocking. */
  const fifo = (name: string, writeFlags = constants.O_WRONLY) => {
    const path = join(dir.path, name)
    expect(spawnSync('mkfifo', [path]).status).to.equal(0)
    // eslint-disable-next-line no-bitwise -- open(2) flags
    const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
    return {read, write: openSync(path, writeFlags)}
  }

  /** keyflow run with the given descriptor as its stderr; resolves to its exit code and stdout. */
  const runWithStderr = (stderr: number, command: string[], drive?: (keyflow: ReturnType<typeof spawn>) => void) => {
    const keyflow = spawn(process.execPath, ['--', BIN, 'run', '--', ...command], {cwd: dir.path, env, stdio: ['pipe', 'pipe', stderr]})
    closeSync(stderr)
    let stdout = ''
    keyflow.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    if (drive) drive(keyflow)
    else keyflow.stdin!.end()
    return new Promise<{code: null | number; stdout: string}>((resolve) => {
      keyflow.on('close', (code) => resolve({code, stdout}))
    })
  }

  it('warns without making process.stderr (Node\'s stream for it costs a millisecond or more)', async () => {
    const trace = join(dir.path, 'streams.txt')
    const traced = {...env, KEYFLOW_TEST_STDIO_TRACE: trace, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'stdio-streams.cjs')}`}
    const result = await runCli(['run', '--', 'true'], {cwd: dir.path, env: traced})
    expect([result.code, result.stdout]).to.deep.equal([0, ''])
    expect(result.stderr).to.match(NOTHING_TO_INJECT)
    expect(readFileSync(trace, 'utf8'), 'the streams keyflow made').to.equal('')
  })

  it('the warning reaches stderr whatever it is: a socket, a pipe, a file', async () => {
    const socket = await runCli(['run', '--', 'true'], {cwd: dir.path, env})
    expect(socket.stderr).to.match(NOTHING_TO_INJECT)
    const shell = (redirect: string) => spawnSync('sh', ['-c', `"$0" -- "$@" ${redirect}`, process.execPath, BIN, 'run', '--', 'true'], {cwd: dir.path, encoding: 'utf8', env})
    const pipe = shell('2>&1 >/dev/null | cat')
    expect(pipe.status).to.equal(0)
    expect(pipe.stdout).to.match(NOTHING_TO_INJECT)
    const file = join(dir.path, 'stderr.txt')
    expect(shell(`2>"${file}"`).status).to.equal(0)
    expect(readFileSync(file, 'utf8')).to.match(NOTHING_TO_INJECT)
  })

  it('a full non-blocking stderr gets the whole warning once its reader reads', async () => {
    // eslint-disable-next-line no-bitwise -- open(2) flags
    const {read, write} = fifo('full', constants.O_WRONLY | constants.O_NONBLOCK)
    let filled = 0
    for (;;) {
      try {
        filled += writeSync(write, Buffer.alloc(4096, 'f'))
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).to.equal('EAGAIN')
        break
      }
    }

    let received = Buffer.alloc(0)
    const reader = new Socket({fd: read, readable: true, writable: false})
    const drained = new Promise<void>((resolve) => {
      reader.on('close', () => resolve())
    })
    // The command waits for its stdin to end: it is ended once the reader has the whole warning.
    const waitForStdin = ['-e', 'process.stdin.resume(); process.stdin.on("end", () => process.exit(3))']
    const result = await runWithStderr(write, [process.execPath, ...waitForStdin], (keyflow) => {
      reader.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk])
        if (received.subarray(filled).toString().endsWith('--allow-empty.\n')) keyflow.stdin!.end()
      })
    })
    await drained
    expect(result.code).to.equal(3)
    expect(received.subarray(0, filled).every((byte) => byte === 0x66)).to.equal(true)
    expect(received.subarray(filled).toString()).to.match(NOTHING_TO_INJECT)
  })

  it('a stderr that cannot take the warning (its reader gone, a full disk) leaves the command its run and its exit code', async () => {
    const gone = fifo('gone')
    closeSync(gone.read)
    const full = openSync('/dev/full', 'w')
    for (const stderr of [gone.write, full]) {
      // eslint-disable-next-line no-await-in-loop -- one at a time
      const result = await runWithStderr(stderr, ['sh', '-c', 'echo ran; exit 3'])
      expect(result).to.deep.equal({code: 3, stdout: 'ran\n'})
    }
  })
})
