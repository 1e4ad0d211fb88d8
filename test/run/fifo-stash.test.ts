import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, CliResult, ROOT, runCli, tempDir} from '../support/cli.js'
import {leftInTmp} from '../support/fifos.js'
import {OTHER} from '../support/other-user.js'
import {startKeyflow, until} from '../support/run-child.js'

/** What the command reports of its stdout and stderr: whether each is a pipe (a FIFO), as `test -p` sees it. */
const PIPE_CHECK = 'if test -p /dev/stdout; then echo out-pipe; fi; if test -p /dev/stderr; then echo err-pipe >&2; fi'
/** Sends a keyflow run a signal right after it claims its first spare (see the file). */
const SIGNAL_AFTER_CLAIM = join(ROOT, 'test', 'support', 'signal-after-claim.cjs')
/** SIGKILLs a keyflow run at the spawn of its mkfifo (see the file). */
const KILL_AT_MKFIFO = join(ROOT, 'test', 'support', 'kill-at-mkfifo.cjs')
/** A process id no process has now: that of a process that has ended and been reaped. */
const endedPid = () => spawnSync('true').pid

function expectPipes(result: CliResult) {
  expect(result.code, result.stderr).to.equal(0)
  expect([result.stdout, result.stderr]).to.deep.equal(['out-pipe\n', 'err-pipe\n'])
}

/**
 * A masked run's FIFOs come from a stash of FIFOs made ahead when it has them (FifoStash in
 * src/lib/run/supervise.ts: $XDG_RUNTIME_DIR/keyflow-run, else $TMPDIR/keyflow-run-UID): the
 * mkfifo that a run starts makes spares there, and the runs after it take theirs without starting
 * a process. Each FIFO serves one run only, and the stash is trusted only as keyflow's other
 * private directories are.
 */
describe('run: FIFOs made ahead', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  let stash: string
  let tmp: string

  beforeEach(() => {
    dir = tempDir()
    // A temporary directory of the test's own: the stash is in it, for no other test to use.
    tmp = join(dir.path, 'tmp')
    mkdirSync(tmp, {mode: 0o700})
    env = {...baseEnv(dir.path), STASH_SECRET: canary('stash'), TMPDIR: tmp}
    stash = join(tmp, `keyflow-run-${process.getuid!()}`)
  })

  afterEach(() => dir?.cleanup())

  const masked = (command: string, extra: Record<string, string> = {}) => runCli(['run', '--mask', 'always', '--secret', 'STASH_SECRET', '--', 'sh', '-c', command], {cwd: dir.path, env: {...env, ...extra}})
  const spares = () => readdirSync(stash).filter((name) => name.startsWith('ready-'))
  const claimedBy = (pid: number) => readdirSync(stash).filter((name) => name.startsWith(`taken-${pid}-`))
  /** Empties the stash of spares, so that the next masked run refills it (and sweeps it). */
  const useUpSpares = () => {
    for (const name of spares()) rmSync(join(stash, name))
  }

  /** A PATH with sh but no mkfifo: a run can then have FIFOs only from the stash. */
  const withoutMkfifo = () => {
    const bin = join(dir.path, 'bin')
    mkdirSync(bin, {recursive: true})
    for (const tool of ['sh', 'test', 'echo', 'sleep', 'cat']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).stdout.trim()
      if (found.startsWith('/') && !existsSync(join(bin, tool))) symlinkSync(found, join(bin, tool))
    }

    return {PATH: bin}
  }

  it('the first masked run leaves 0600 FIFOs for the next; those run with real pipes and no mkfifo', async () => {
    expectPipes(await masked(PIPE_CHECK))
    const made = spares()
    expect(made).to.have.length(32)
    for (const name of made) {
      const stats = lstatSync(join(stash, name))
      expect(stats.isFIFO(), name).to.equal(true)
      // eslint-disable-next-line no-bitwise -- mode bits
      expect(stats.mode & 0o777, name).to.equal(0o600)
    }

    // Without the stash, no mkfifo on PATH means socketpairs, which `test -p` says are not pipes.
    expectPipes(await masked(PIPE_CHECK, withoutMkfifo()))
    expect(spares()).to.have.length(30)
    // Nothing of the taken ones is left behind under another name.
    expect(readdirSync(stash)).to.have.length(30)
  })

  it('concurrent runs each get FIFOs of their own: no run sees another one output', async () => {
    expectPipes(await masked(PIPE_CHECK))
    const labels = Array.from({length: 6}, (_, index) => `run-${index}`)
    const results = await Promise.all(labels.map((label) => masked(`for i in 1 2 3 4 5 6 7 8; do echo ${label}; echo ${label}-err >&2; sleep 0.05; done`, {...withoutMkfifo(), LABEL: label})))
    for (const [index, result] of results.entries()) {
      expect(result.code, result.stderr).to.equal(0)
      expect(result.stdout).to.equal(`${labels[index]}\n`.repeat(8))
      expect(result.stderr).to.equal(`${labels[index]}-err\n`.repeat(8))
    }

    expect(spares()).to.have.length(32 - 2 * labels.length)
  })

  it('a stash others may write is not used: the run makes its own FIFOs and leaves the stash as it was', async () => {
    expectPipes(await masked(PIPE_CHECK))
    chmodSync(stash, 0o777)
    expectPipes(await masked(PIPE_CHECK))
    expect(spares()).to.have.length(32)
    // Without mkfifo, and with the stash refused: socketpairs, and still the command's output.
    const result = await masked(PIPE_CHECK, withoutMkfifo())
    expect([result.code, result.stdout, result.stderr]).to.deep.equal([0, '', ''])
    expect(spares()).to.have.length(32)
  })

  it('what in the stash has a spare name but is no FIFO never serves as a pipe and is removed; a directory is left as it is', async () => {
    expectPipes(await masked(PIPE_CHECK))
    for (const name of spares()) spawnSync('rm', [join(stash, name)])
    // A link to a FIFO elsewhere and a plain file, under spares' names.
    const elsewhere = join(dir.path, 'elsewhere')
    expect(spawnSync('mkfifo', ['-m', '600', elsewhere]).status).to.equal(0)
    symlinkSync(elsewhere, join(stash, 'ready-link'))
    writeFileSync(join(stash, 'ready-file'), 'not a fifo', {mode: 0o600})
    mkdirSync(join(stash, 'ready-directory'), {mode: 0o700})
    writeFileSync(join(stash, 'ready-directory', 'kept'), 'kept', {mode: 0o600})
    const result = await masked(PIPE_CHECK, withoutMkfifo())
    expect([result.code, result.stdout, result.stderr]).to.deep.equal([0, '', ''])
    expect(readdirSync(stash)).to.deep.equal(['ready-directory'])
    expect(readdirSync(join(stash, 'ready-directory'))).to.deep.equal(['kept'])
    expect(lstatSync(elsewhere).isFIFO()).to.equal(true)
  })

  it('with XDG_RUNTIME_DIR set, the stash is there, not in TMPDIR', async () => {
    const runtime = join(dir.path, 'runtime')
    mkdirSync(runtime, {mode: 0o700})
    expectPipes(await masked(PIPE_CHECK, {XDG_RUNTIME_DIR: runtime}))
    expect(readdirSync(join(runtime, `keyflow-run-${process.getuid!()}`)).filter((name) => name.startsWith('ready-'))).to.have.length(32)
    expect(existsSync(stash)).to.equal(false)
    expectPipes(await masked(PIPE_CHECK, {...withoutMkfifo(), XDG_RUNTIME_DIR: runtime}))
  })

  it('a runtime or temporary directory others may write gets no stash: the run makes its own FIFOs', async () => {
    // A directory others may rename entries in could have the stash swapped for theirs between two calls.
    const runtime = join(dir.path, 'runtime')
    mkdirSync(runtime, {mode: 0o700})
    chmodSync(runtime, 0o777)
    expectPipes(await masked(PIPE_CHECK, {XDG_RUNTIME_DIR: runtime}))
    expect(existsSync(join(runtime, `keyflow-run-${process.getuid!()}`))).to.equal(false)
    // Passed over for TMPDIR, which is the test's own (0700).
    expect(spares()).to.have.length(32)
    const open = join(dir.path, 'open-tmp')
    mkdirSync(open, {mode: 0o700})
    chmodSync(open, 0o777)
    expectPipes(await masked(PIPE_CHECK, {TMPDIR: open}))
    expect(readdirSync(open)).to.deep.equal([])
  })

  it('a relative TMPDIR gets no stash in the working directory', async () => {
    mkdirSync(join(dir.path, 'tmp-here'), {mode: 0o700})
    expectPipes(await masked(PIPE_CHECK, {TMPDIR: 'tmp-here'}))
    expect(readdirSync(join(dir.path, 'tmp-here'))).to.deep.equal([])
  })

  it('a run killed right after claiming a spare leaves the claimed FIFO; the next run that refills the stash removes it', async () => {
    expectPipes(await masked(PIPE_CHECK))
    const killed = await masked(PIPE_CHECK, {KEYFLOW_TEST_CLAIM_SIGNAL: 'SIGKILL', NODE_OPTIONS: `--require ${SIGNAL_AFTER_CLAIM}`})
    expect(killed.signal, killed.stderr).to.equal('SIGKILL')
    const left = readdirSync(stash).filter((name) => name.startsWith('taken-'))
    expect(left).to.have.length(1)
    expect(lstatSync(join(stash, left[0])).isFIFO()).to.equal(true)
    // A run the stash serves in full does not look for leftovers (it stays off that hot path) ...
    expectPipes(await masked(PIPE_CHECK, withoutMkfifo()))
    expect(readdirSync(stash)).to.include(left[0])
    // ... one that refills it, while its mkfifo runs, does.
    useUpSpares()
    expectPipes(await masked(PIPE_CHECK))
    expect(readdirSync(stash).filter((name) => !name.startsWith('ready-'))).to.deep.equal([])
    expect(spares()).to.have.length(32)
  })

  it("a sweep leaves a claimer that still runs, and what keyflow did not make: another user's FIFO, a file, a link, a FIFO others may open", async () => {
    expectPipes(await masked(PIPE_CHECK))
    // A run stopped right after its claim: alive, its claimed FIFO not yet opened.
    const claimer = startKeyflow(['run', '--mask', 'always', '--secret', 'STASH_SECRET', '--', 'sh', '-c', PIPE_CHECK], {
      ...env,
      KEYFLOW_TEST_CLAIM_SIGNAL: 'SIGSTOP',
      NODE_OPTIONS: `--require ${SIGNAL_AFTER_CLAIM}`,
    })
    const pid = claimer.child.pid!
    try {
      await until(() => claimedBy(pid).length > 0 || claimer.child.exitCode !== null, 'the run claims a spare')
      const [claimed] = claimedBy(pid)
      expect(claimed, claimer.stderr()).to.be.a('string')

      // Claimed names of a process that has ended, but not FIFOs keyflow made: each is left as it is.
      const gone = endedPid()
      const elsewhere = join(dir.path, 'elsewhere')
      expect(spawnSync('mkfifo', ['-m', '600', elsewhere]).status).to.equal(0)
      const notKeyflows = {
        [`taken-${gone}-file`]: () => writeFileSync(join(stash, `taken-${gone}-file`), 'not a fifo', {mode: 0o600}),
        [`taken-${gone}-link`]: () => symlinkSync(elsewhere, join(stash, `taken-${gone}-link`)),
        [`taken-${gone}-open`]: () => expect(spawnSync('mkfifo', ['-m', '644', join(stash, `taken-${gone}-open`)]).status).to.equal(0),
        [`taken-${gone}-others`]() {
          expect(spawnSync('mkfifo', ['-m', '600', join(stash, `taken-${gone}-others`)]).status).to.equal(0)
          chownSync(join(stash, `taken-${gone}-others`), OTHER.uid, OTHER.gid)
        },
      }
      for (const make of Object.values(notKeyflows)) make()
      // One keyflow could have left: the ended process's own FIFO, as mkfifo -m 600 makes them.
      expect(spawnSync('mkfifo', ['-m', '600', join(stash, `taken-${gone}-0-0-0`)]).status).to.equal(0)

      useUpSpares()
      expectPipes(await masked(PIPE_CHECK))
      expect(readdirSync(stash).filter((name) => !name.startsWith('ready-')).sort()).to.deep.equal([claimed, ...Object.keys(notKeyflows)].sort())
      expect(lstatSync(elsewhere).isFIFO()).to.equal(true)

      // The claimer goes on with the FIFO it claimed, and removes its name.
      claimer.child.kill('SIGCONT')
      expect(await claimer.exited, claimer.stderr()).to.deep.equal({code: 0, signal: null})
      expect([claimer.stdout(), claimer.stderr()]).to.deep.equal(['out-pipe\n', 'err-pipe\n'])
      expect(readdirSync(stash)).to.not.include(claimed)
    } finally {
      claimer.child.kill('SIGKILL')
    }
  })

  for (const when of ['before', 'after'] as const) {
    it(`a run killed ${when} starting the mkfifo of its own FIFOs leaves their directory; the next run that refills the stash removes it`, async () => {
      expectPipes(await masked(PIPE_CHECK))
      useUpSpares()
      const killed = await masked(PIPE_CHECK, {KEYFLOW_TEST_MKFIFO_KILL: when, NODE_OPTIONS: `--require ${KILL_AT_MKFIFO}`})
      expect(killed.signal, killed.stderr).to.equal('SIGKILL')
      // The mkfifo that outlived keyflow makes the run's FIFOs, then the spares: with the last spare, it is done.
      if (when === 'after') await until(() => spares().length === 32, "the killed run's mkfifo makes its FIFOs")
      const left = leftInTmp(tmp)
      expect(left).to.have.length(1)
      expect(readdirSync(join(tmp, left[0])).sort()).to.deep.equal(when === 'after' ? ['0', '1'] : [])
      // A run the stash serves in full does not look for leftovers ...
      if (when === 'after') {
        expectPipes(await masked(PIPE_CHECK, withoutMkfifo()))
        expect(leftInTmp(tmp)).to.have.length(1)
      }

      // ... one that refills it, while its mkfifo runs, does.
      useUpSpares()
      expectPipes(await masked(PIPE_CHECK))
      expect(leftInTmp(tmp)).to.deep.equal([])
      expect(spares()).to.have.length(32)
    })
  }

  it("a sweep leaves a run's directory whose maker still runs, and what keyflow did not make: a link, another user's, one others may open, one with more in it", async () => {
    expectPipes(await masked(PIPE_CHECK))
    const gone = endedPid()
    const fifo = (path: string) => expect(spawnSync('mkfifo', ['-m', '600', path]).status).to.equal(0)
    const made = (name: string, mode = 0o700) => {
      mkdirSync(join(stash, name), {mode})
      chmodSync(join(stash, name), mode)
      fifo(join(stash, name, '0'))
      return join(stash, name)
    }

    const elsewhere = join(dir.path, 'elsewhere')
    mkdirSync(elsewhere, {mode: 0o700})
    fifo(join(elsewhere, '0'))
    const notKeyflows = {
      [`made-${gone}-file00`]: () => writeFileSync(join(made(`made-${gone}-file00`), '1'), 'not a fifo', {mode: 0o600}),
      [`made-${gone}-link00`]: () => symlinkSync(elsewhere, join(stash, `made-${gone}-link00`)),
      [`made-${gone}-more00`]: () => writeFileSync(join(made(`made-${gone}-more00`), 'notes'), 'kept', {mode: 0o600}),
      [`made-${gone}-open00`]: () => made(`made-${gone}-open00`, 0o755),
      [`made-${gone}-othr00`]: () => chownSync(made(`made-${gone}-othr00`), OTHER.uid, OTHER.gid),
      // A process of the user's that runs (this one): its directory is in use.
      [`made-${process.pid}-live00`]: () => made(`made-${process.pid}-live00`),
    }
    for (const make of Object.values(notKeyflows)) make()
    // One keyflow could have left: the ended process's directory, with the FIFO its mkfifo made.
    made(`made-${gone}-AbC123`)

    useUpSpares()
    expectPipes(await masked(PIPE_CHECK))
    expect(readdirSync(stash).filter((name) => !name.startsWith('ready-')).sort()).to.deep.equal(Object.keys(notKeyflows).sort())
    for (const name of Object.keys(notKeyflows)) expect(readdirSync(join(stash, name)), name).to.include('0')
    expect(lstatSync(join(elsewhere, '0')).isFIFO()).to.equal(true)
  })

  it('the keyflow home gets no FIFO, and a run does not make one', async () => {
    expectPipes(await masked(PIPE_CHECK))
    expect(existsSync(env.KEYFLOW_HOME)).to.equal(false)
  })
})
