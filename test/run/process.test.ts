import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, BIN, ROOT, runCli, tempDir} from '../support/cli.js'
import {leftInTmp} from '../support/fifos.js'
import {freePort} from '../support/ports.js'
import {alive, fixture, startKeyflow, until} from '../support/run-child.js'

/** The pids of the live children of `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
      } catch {
        return false
      }
    })
    .map(Number)
    .filter((child) => alive(child))
}

/**
 * `keyflow run ARGS` of a fixture that writes while the test reads, says "warm" on stderr and,
 * told to on stdin, writes on while the test reads nothing, until keyflow stops reading too,
 * and says so (`stalled`). keyflow's RSS growth from "warm" to then; once all is read, the
 * exit code, stdout and stderr.
 */
async function stalledRun(args: string[], env: Record<string, string>, stalled: RegExp) {
  const child = spawn(process.execPath, ['--', BIN, 'run', ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1])
  const out: Buffer[] = []
  const collect = (chunk: Buffer) => out.push(chunk)
  let stderr = ''
  child.stdout!.on('data', collect)
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const exited = new Promise<null | number>((resolve) => {
    child.on('close', resolve)
  })
  const said = async (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const look = () => {
        const match = stderr.match(pattern)
        if (match) resolve(match)
        else if (child.exitCode === null) child.stderr!.once('data', look)
        else reject(new Error(`keyflow exited: ${stderr}`))
      }

      look()
    })
  // Warmed up (the masker built, the pipes' code compiled), the test stops reading.
  await said(/^warm$/m)
  child.stdout!.off('data', collect).pause()
  const before = rssKb()
  child.stdin!.write('go\n')
  const report = await said(stalled)
  const grownMb = (rssKb() - before) / 1024
  child.stdout!.on('data', collect).resume()
  const code = await exited
  return {code, grownMb, report, stderr, stdout: Buffer.concat(out)}
}

describe('run: the child process, in containers and pipelines', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string
  let value: string

  beforeEach(() => {
    home = tempDir()
    env = baseEnv(home.path)
    value = canary('process')
    envFile = join(home.path, 'secrets.env')
    writeFileSync(envFile, `TOKEN=${value}\n`, {mode: 0o600})
  })

  afterEach(() => home.cleanup())

  it('gives a masked child real pipes: > /dev/stdout, > /dev/stderr and tee /dev/stderr work', async () => {
    const script = 'echo "out $T" > /dev/stdout && echo "err $T" > /dev/stderr && echo "tee $T" | tee /dev/stderr'
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'T=TOKEN', '--env-style', 'plain', '--', 'sh', '-c', script], {env})
    expect(result.stderr).to.not.include('No such device')
    expect(result.code).to.equal(0)
    expect(result.stdout).to.equal('out *****\ntee *****\n')
    expect(result.stderr).to.equal('err *****\ntee *****\n')
    assertNoCanary(result.stdout + result.stderr, [value], 'output')
  })

  it('leaves no FIFO behind, whether the command runs, nothing needs masking, or a secret is missing', async () => {
    // The pipes are made while the secrets resolve, before keyflow knows it will run anything.
    const tmp = join(home.path, 'tmp')
    mkdirSync(tmp, {mode: 0o700})
    const inTmp = {...env, SHORT: 'abc', TMPDIR: tmp}
    const runs: Array<[string[], number]> = [
      [['--env-file', envFile, '--secret', 'T=TOKEN', '--', 'sh', '-c', 'echo "$T"'], 0],
      [['--secret', 'SHORT', '--', 'true'], 0],
      [['--env-file', envFile, '--secret', 'MISSING', '--', 'true'], 3],
      [['--env-file', envFile, '--secret', 'T=TOKEN', '--', join(home.path, 'no-such-command')], 127],
    ]
    for (const [args, code] of runs) {
      // eslint-disable-next-line no-await-in-loop -- one run after another, each checked alone
      const result = await runCli(['run', ...args], {env: inTmp})
      expect(result.code, result.stderr).to.equal(code)
      expect(leftInTmp(tmp), args.join(' ')).to.deep.equal([])
    }
  })

  it('reports the run\'s own error, not a crash, when a secret fails while the pipes are made ahead (they are closed)', async () => {
    // The pipes are made while AWS answers, and AWS fails: the run reports that, and the pipes
    // made for nothing are closed (the test above checks that no FIFO is left behind).
    // A failure to make the pipes is no error any more: they fall back to socketpairs (next test).
    const result = await runCli(['run', '--secret', 'aws-sm://unreachable', '--aws-max-attempts', '1', '--', 'true'], {
      env: {
        ...env,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}`,
        AWS_REGION: 'us-east-1',
        AWS_SECRET_ACCESS_KEY: 'testing',
      },
    })
    expect(result.stderr).to.not.match(/^\s+at /m)
    expect(result.stderr).to.include('AWS Secrets Manager could not be reached')
    expect(result.code).to.equal(4)
  })

  it('runs a masked command through a socketpair when TMPDIR has no room for the FIFOs (it does not exist)', async () => {
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'T=TOKEN', '--env-style', 'plain', '--', 'sh', '-c', 'echo "out $T" && echo "err $T" >&2'], {
      env: {...env, TMPDIR: join(home.path, 'no-such-dir')},
    })
    expect([result.code, result.stderr]).to.deep.equal([0, 'err *****\n'])
    expect(result.stdout).to.equal('out *****\n')
    assertNoCanary(result.stdout + result.stderr, [value], 'output')
  })

  it('ends once the command has exited and its output is quiet, though a background job keeps the pipe open and the wall clock steps back', async () => {
    // The quiet time is reckoned on a monotonic clock: on Date.now, set back an hour every 50 ms
    // by the preload, keyflow would wait for the background job instead, here ten minutes.
    const job = join(home.path, 'job')
    try {
      const result = await runCli(['run', '--env-file', envFile, '--secret', 'T=TOKEN', '--env-style', 'plain', '--', 'sh', '-c', `sleep 600 & echo $! > ${job}; echo "out $T"`], {
        env: {...env, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'wall-clock-back.cjs')}`},
      })
      expect([result.code, result.stdout, result.stderr]).to.deep.equal([0, 'out *****\n', ''])
      expect(alive(Number(readFileSync(job, 'utf8'))), 'the background job outlives keyflow').to.equal(true)
    } finally {
      process.kill(Number(readFileSync(job, 'utf8')), 'SIGKILL')
    }
  })

  it("keeps its memory bounded while its own reader stalls, however short the child's writes", async () => {
    // Each 16-byte write of the child is a read of its own in keyflow. A buffer per read once
    // kept 64 KiB of address space and a page of RSS per queued chunk: 72 MB here before the
    // stream was paused; now about 1-2 MB.
    const run = await stalledRun(['--env-file', envFile, '--secret', 'T=TOKEN', '--', 'python3', fixture('trickle.py'), '16', '2000'], env, /^stalled after (\d+) writes$/m)
    expect(run.code, run.stderr).to.equal(0)
    expect(run.stdout.length).to.equal((2000 + Number(run.report[1])) * 16)
    expect(run.grownMb, `keyflow grew by ${run.grownMb.toFixed(1)} MB while ${run.report[1]} writes queued`).to.be.below(5)
  })

  it("keeps its memory bounded on a socketpair too (no room for the FIFOs) while its reader stalls, however short the child's writes", async () => {
    // Node reads a socket into buffers of its own, each its size: paused on queued bytes alone,
    // keyflow kept 18,000 of them and their writes' bookkeeping, 9 MB here.
    const run = await stalledRun(['--env-file', envFile, '--secret', 'T=TOKEN', '--', 'python3', fixture('trickle.py'), '16', '2000'], {...env, TMPDIR: join(home.path, 'no-such-dir')}, /^stalled after (\d+) writes$/m)
    expect(run.code, run.stderr).to.equal(0)
    expect(run.stdout.length).to.equal((2000 + Number(run.report[1])) * 16)
    expect(run.grownMb, `keyflow grew by ${run.grownMb.toFixed(1)} MB while ${run.report[1]} writes queued`).to.be.below(5)
  })

  it('keeps its memory bounded while its own reader stalls, however much masks shrink the output', async () => {
    // 1,000-byte secrets back to back: each 64 KiB read becomes 64 masks, 320 bytes. Paused on
    // bytes and reads queued alone, keyflow kept 256 reads, 16 MB, before it stopped reading.
    const long = canary('process').padEnd(1000, 'k')
    writeFileSync(envFile, `TOKEN=${long}\n`, {mode: 0o600})
    const run = await stalledRun(['--env-file', envFile, '--secret', 'T=TOKEN', '--env-style', 'plain', '--', 'python3', fixture('flood.py'), '200'], env, /^stalled after (\d+) copies$/m)
    expect(run.code, run.stderr).to.equal(0)
    expect(run.stdout.toString()).to.equal('*****'.repeat(200 + Number(run.report[1])))
    expect(run.grownMb, `keyflow grew by ${run.grownMb.toFixed(1)} MB while ${run.report[1]} copies queued`).to.be.below(8)
    assertNoCanary(run.stdout.toString() + run.stderr, [long], 'output')
  })

  it("stops a pipeline's grandchildren on SIGTERM when there is no terminal (docker stop)", async () => {
    const keyflow = startKeyflow(['run', '--', 'sh', '-c', 'echo "ready $$"; sleep 1000 | sleep 1001'], env)
    const shell = Number((await keyflow.waitFor(/ready (\d+)/))[1])
    await until(() => childrenOf(shell).length === 2, 'both sides of the pipeline run')
    const pipeline = childrenOf(shell)
    keyflow.child.kill('SIGTERM')
    expect((await keyflow.exited).code).to.equal(143)
    await until(() => pipeline.every((pid) => !alive(pid)), 'the pipeline is gone')
  })

  it('delivers the forwarded signal to every process of the group, not only the child', async () => {
    // The shell ignores SIGTERM and waits for its pipeline: only a signal to the whole group ends it.
    const script = `trap '' TERM; echo ready; "${process.execPath}" "${fixture('trap.mjs')}" >&2 | cat`
    const keyflow = startKeyflow(['run', '--', 'sh', '-c', script], env)
    await keyflow.waitFor(/ready/)
    await until(() => keyflow.stderr().includes('ready'), 'the grandchild traps signals')
    keyflow.child.kill('SIGTERM')
    expect((await keyflow.exited).code).to.equal(0)
    expect(keyflow.stderr()).to.include('got SIGTERM')
  })

  it('SIGKILLs the group --kill-after a forwarded SIGTERM that the child ignores', async () => {
    const keyflow = startKeyflow(['run', '--kill-after', '300ms', '--', process.execPath, fixture('trap.mjs'), 'SIGTERM'], env)
    await keyflow.waitFor(/ready \d+/)
    keyflow.child.kill('SIGTERM')
    expect((await keyflow.exited).code).to.equal(137)
    expect(keyflow.stdout()).to.include('got SIGTERM')
    expect(keyflow.stderr()).to.include('killed by SIGKILL')
  })

  it('refuses a --kill-after that is not a duration, before running anything (exit 2)', async () => {
    const result = await runCli(['run', '--kill-after', 'soon', '--', 'sh', '-c', 'echo ran'], {env})
    expect(result.code).to.equal(2)
    expect(result.stdout).to.equal('')
    expect(result.stderr).to.include('--kill-after')
  })

  it('runs as PID 1 of a PID namespace: forwards docker stop to the whole group', async () => {
    const script = `trap '' TERM; echo "ready ppid=$PPID"; "${process.execPath}" "${fixture('trap.mjs')}" >&2 | cat`
    const unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '--', BIN, 'run', '--', 'sh', '-c', script], {env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    unshare.stdout.on('data', (chunk) => {
      out += chunk
    })
    unshare.stderr.on('data', (chunk) => {
      err += chunk
    })
    const exited = new Promise<null | number>((resolve) => {
      unshare.on('close', (code) => resolve(code))
    })
    await until(() => out.includes('ready') && err.includes('ready'), 'the pipeline runs in the namespace')
    // keyflow is the child of unshare and PID 1 inside; the shell is keyflow's child there.
    expect(out).to.include('ready ppid=1')
    const [keyflow] = childrenOf(unshare.pid!)
    process.kill(keyflow, 'SIGTERM')
    expect(await exited).to.equal(0)
    expect(err).to.include('got SIGTERM')
  })
})
