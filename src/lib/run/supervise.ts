import {ChildProcess, spawn} from 'node:child_process'
import {closeSync, Dirent, constants as fsConstants, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, Stats, statSync, unlinkSync} from 'node:fs'
import {OnReadOpts, Socket, SocketConstructorOpts} from 'node:net'
import {join} from 'node:path'
import {Readable, Writable} from 'node:stream'
import {debuglog} from 'node:util'

import {errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {cannotWrite, drained} from '../output/emit.js'
import {stderrStream} from '../output/warn.js'
import {builtin} from '../util/builtin.js'
import {MaskSet, StreamMasker} from './masker.js'

// Over 300 lines on purpose: the spawn, signal forwarding, process groups and the masked pipes
// share the child's lifetime (handlers installed before the spawn, removed after the exit).

/**
 * Runs the child the way a shell would and stays out of its way (docs/run.md "Signals and
 * exit codes"): no shell; in keyflow's process group when keyflow is in the foreground of a
 * terminal (the child keeps the terminal and its keyboard signals), otherwise in a process
 * group of its own that forwarded signals go to as a whole (a container's `sh -c 'a | b'`);
 * stdin untouched, stdout/stderr either what keyflow has or a masking pipe. Signal handlers
 * are installed before the spawn and removed after the child is gone, so a signal is never
 * lost in between and never kills keyflow while the child lives.
 */

export const FORWARDED_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const
/** Signals the terminal's keyboard sends to the whole foreground group: Ctrl-C, Ctrl-\. */
export const KEYBOARD_SIGNALS = ['SIGINT', 'SIGQUIT'] as const

/** After the child exits, a pipe still held open by its own children is let go once quiet this long. */
const QUIET_MS = 100

/** The secrets to mask, and which streams go through the masker; the others are inherited. */
export interface Masking {
  /** Read at each chunk: a reload (--watch-reload) may replace it while the command runs. */
  set: MaskSet
  stderr: boolean
  stdout: boolean
}

export interface SuperviseOptions {
  args: string[]
  command: string
  env: Record<string, string>
  /** SIGKILL the child (its group, when it has one) this long after a forwarded SIGTERM. */
  killAfterMs?: number
  masking?: Masking
  /**
   * keyflow writes notices to stderr while the command runs (run --watch): a masked stderr is
   * then listened to for a broken pipe from the start, not only from the child's first write.
   */
  notices?: boolean
  /** Told once the child runs, with a way to signal it (run --watch stops and reloads it so). */
  onSpawn?: (signal: (name: NodeJS.Signals) => void) => void
  /** The masked streams' pipes, made ahead (PipesAhead.take()); else supervise makes them. */
  pipes?: Promise<Pipe[] | undefined>
}

export interface ChildExit {
  code: number
  /** Set when the child was killed by a signal; code is then 128+N. */
  signal?: {name: NodeJS.Signals; number: number}
}

/**
 * Whether a Ctrl-C (or Ctrl-\) at the terminal already reaches the child: keyflow is in the
 * foreground process group of its controlling terminal, and the child shares keyflow's group.
 * Then forwarding it would deliver it twice. Linux tells exactly (/proc/self/stat: pgrp,
 * tpgid); elsewhere a terminal on stdin is taken as the sign.
 */
export function terminalDeliversKeyboardSignals(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // After the command name: state ppid pgrp session tty_nr tpgid ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[5]) > 0 && fields[5] === fields[2]
  } catch {
    return process.stdin.isTTY === true
  }
}

export function spawnError(command: string, error: unknown): KeyflowError {
  const code = errnoCode(error)
  let exists = false
  try {
    exists = command.includes('/') && statSync(command).isFile()
  } catch {}

  if (code === 'ENOENT') {
    return new KeyflowError(exists ? `Cannot run ${command}: its interpreter (the #! line) was not found.` : `Command not found: ${command}`, {
      code: 'COMMAND_NOT_FOUND',
      exit: ExitCode.COMMAND_NOT_FOUND,
      fix: exists ? 'Fix the #! line or install the interpreter.' : command.includes('/') ? 'Check the path.' : 'Check the spelling, or give its path; PATH is searched as a shell would.',
    })
  }

  const reasons: Record<string, string> = {
    E2BIG: 'its environment and arguments are larger than the system allows (one variable over 128 KiB, or all together over ARG_MAX)',
    EACCES: 'permission denied (is it executable? is it a directory?)',
    ENOEXEC: 'not an executable format (a script needs a #! line)',
    EPERM: 'operation not permitted',
  }
  const fixes: Record<string, string> = {
    E2BIG: 'Inject fewer or smaller values (a long block field name makes a long variable name too), or pass large data in a file.',
    EACCES: `chmod +x ${command}, or run it through its interpreter.`,
  }
  return new KeyflowError(`Cannot execute ${command}: ${reasons[code ?? ''] ?? code ?? 'unknown error'}.`, {
    code: 'CANNOT_EXECUTE',
    exit: ExitCode.CANNOT_EXECUTE,
    fix: fixes[code ?? ''] ?? 'Check the file.',
  })
}

/** A pipe's [read, write] descriptors. */
type Pipe = [number, number]

/**
 * Both ends of the FIFO at `path`, the read end first (opened without waiting for a writer, it
 * lets the write end open at once); undefined, with nothing left open, where it cannot be opened,
 * is a symbolic link, or is not a FIFO of keyflow's user that only the user may open, read and
 * written through the same inode (what was opened is checked, not what the name pointed to).
 */
function openFifo(path: string): Pipe | undefined {
  const opened: number[] = []
  try {
    // eslint-disable-next-line no-bitwise -- open(2) flags
    opened.push(openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW), openSync(path, fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW))
    const [read, write] = opened.map((fd) => fstatSync(fd))
    // eslint-disable-next-line no-bitwise -- mode bits: only the user may open it (mkfifo -m 600)
    if (read.isFIFO() && read.uid === process.getuid?.() && (read.mode & 0o077) === 0 && read.dev === write.dev && read.ino === write.ino) return [opened[0], opened[1]]
  } catch (error) {
    // No descriptors left is the run's to report; a FIFO not there (yet) or not to be opened is not.
    if (errnoCode(error) === 'EMFILE' || errnoCode(error) === 'ENFILE') {
      for (const fd of opened) closeSync(fd)
      throw error
    }
  }

  for (const fd of opened) closeSync(fd)
  return undefined
}

/** How many FIFOs each mkfifo a masked run starts makes ahead for later runs (FifoStash). */
const SPARE_FIFOS = 32
/** A spare's name in the stash; a run renames the one it takes to a name of its own first. */
const SPARE = /^ready-[\w-]+$/
/**
 * A spare a run has claimed (renamed to a uniqueName of its own, which starts with its process
 * id) and not yet opened and removed: for microseconds, unless the run is killed in between
 * (SIGKILL, the OOM killer), when the name would stay for good. Seven digits: Linux pids are at
 * most 2^22, and process.kill refuses numbers past 2^31.
 */
const CLAIMED = /^taken-([1-9]\d{0,6})-/
/**
 * The private directory a run that refills the stash makes its own FIFOs in (Fifos.start): in
 * the stash, named for its process id (as CLAIMED) and made by mkdtemp (six random characters).
 * Removed as soon as the FIFOs in it are open, unless the run is killed first (SIGKILL, the OOM
 * killer) while its mkfifo runs: then it stays, empty or with the FIFOs a mkfifo that outlived
 * keyflow made (named by their index), until a sweep.
 */
const MADE = /^made-([1-9]\d{0,6})-[\dA-Za-z]{6}$/
const MADE_FIFO = /^\d+$/
/**
 * A name no other process makes: the process id (not enough alone: containers sharing a
 * directory all run as pid 1), the time, a random part and a count.
 */
let named = 0
const uniqueName = (kind: string) => `${kind}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${named++}`

const removeQuietly = (path: string) => {
  try {
    unlinkSync(path)
  } catch {}
}

/** A directory's own stats (a link in its last part is not followed); undefined where it is not one that can be opened. */
function directoryStats(path: string): Stats | undefined {
  let fd: number
  try {
    // eslint-disable-next-line no-bitwise -- open(2) flags
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW)
  } catch {
    return undefined
  }

  try {
    return fstatSync(fd)
  } finally {
    closeSync(fd)
  }
}

// eslint-disable-next-line no-bitwise -- mode bits
const isPrivate = (stats: Stats | undefined, uid: number) => stats !== undefined && stats.uid === uid && (stats.mode & 0o077) === 0

/**
 * FIFOs made ahead, in a private directory of the user's runtime directory ($XDG_RUNTIME_DIR,
 * meant for FIFOs and sockets), else of the temporary one: mkfifo is a process, and starting one
 * blocks keyflow for its fork and exec (a millisecond on a quiet machine, several on a busy one),
 * so each mkfifo a masked run starts makes SPARE_FIFOS more there, and the runs after it take
 * theirs from the stash instead. A run takes one by renaming it to a name of its own (a rename
 * is atomic: two runs never get the same one), opens both ends (openFifo checks what it opened,
 * and that it is the FIFO the name had), and removes the name: no FIFO is ever opened while
 * another process may find it. The directory is checked as every private directory of keyflow's
 * is (the user's, 0700, not a link); one that fails the check is not used, and the FIFOs are made
 * for the run alone, as without a stash. Not the keyflow home: backups and copies of it
 * (Python's copytree, Node's cpSync) fail on FIFOs.
 */
class FifoStash {
  /** Claimed names take() passed whose process may have ended: sweep() looks at them. */
  private claimed: string[] = []
  /** Runs' own directories (MADE) take() passed whose process may have ended: sweep() looks at them too. */
  private made: string[] = []

  private constructor(
    private readonly dir: string,
    private readonly uid: number,
  ) {}

  /**
   * The stash, made where it is missing; undefined where it cannot be used. Its directory must be
   * the user's and private, and so must the one it is in, or that one sticky and root's (/tmp):
   * where another user may rename entries, a checked directory could be swapped for theirs
   * between two calls. $XDG_RUNTIME_DIR that is not so is passed over, as a relative TMPDIR is.
   */
  static of(env: NodeJS.ProcessEnv): FifoStash | undefined {
    const uid = process.getuid?.()
    if (uid === undefined) return undefined
    const runtime = env.XDG_RUNTIME_DIR
    const parent = runtime?.startsWith('/') && isPrivate(directoryStats(runtime), uid) ? runtime : builtin<typeof import('node:os')>('node:os').tmpdir()
    const above = directoryStats(parent)
    // eslint-disable-next-line no-bitwise -- mode bits: the sticky bit
    if (!parent.startsWith('/') || !above || !(isPrivate(above, uid) || (above.uid === 0 && (above.mode & 0o1000) !== 0))) return undefined
    const dir = join(parent, `keyflow-run-${uid}`)
    try {
      if (!directoryStats(dir)) mkdirSync(dir, {mode: 0o700})
    } catch {
      return undefined
    }

    return isPrivate(directoryStats(dir), uid) ? new FifoStash(dir, uid) : undefined
  }

  /** The prefix for mkdtemp of this run's private directory, for the FIFOs its mkfifo makes for it (MADE). */
  directoryPrefix(): string {
    return join(this.dir, `made-${process.pid}-`)
  }

  /** Paths for mkfifo to make spares at. */
  spares(): string[] {
    return Array.from({length: SPARE_FIFOS}, () => join(this.dir, uniqueName('ready')))
  }

  /**
   * Removes the names take() passed that a run claimed and never removed, because it ended
   * first. Called only when the stash is refilled, after mkfifo has started (it runs meanwhile):
   * take() came up short then, so it saw every entry; a run the stash serves does no more than
   * before. Only FIFOs of the user that only the user may open are removed (lstat: a link is not
   * followed), as mkfifo -m 600 made them; the directory is private (of()), so no other user
   * can put another file under the name between the lstat and the unlink.
   *
   * Ended means kill(pid, 0) finds no process (ESRCH) or one of another user (EPERM: the
   * claimer had this real uid, whose processes it may signal). A pid reused by a process of the
   * user's leaves the FIFO for a sweep after that process ends: late, never wrong. Not an age
   * threshold: a run stopped (SIGSTOP, a debugger) is alive at any age, and the time in the name
   * is another process's wall clock. The one misjudgement left is a run in another pid namespace
   * (containers sharing the directory), which looks ended from here; removing its name costs it
   * that spare and no more: take() keeps a pipe only if the inode it opened is the spare's and
   * has no name left, so a name removed before its open is not found, and one removed after is
   * the pipe it already has.
   *
   * A run's own directory (MADE) whose process has ended, judged the same way, is removed with
   * what its mkfifo made in it, only if it is a directory of the user's that only the user may
   * open (opened with O_NOFOLLOW: a link is not followed) holding nothing but such FIFOs, named
   * by their index; anything else in it, and it, are left. The misjudged run in another pid
   * namespace loses its FIFOs before it opens them, and runs with socketpairs, as without
   * mkfifo (supervise()).
   */
  sweep(): void {
    for (const name of this.claimed) {
      if (this.ended(CLAIMED, name) && this.isOwnFifo(join(this.dir, name))) removeQuietly(join(this.dir, name))
    }

    for (const name of this.made) {
      if (this.ended(MADE, name)) this.removeMadeDirectory(join(this.dir, name))
    }

    this.claimed = []
    this.made = []
  }

  /**
   * Up to `count` pipes, taken from the spares there. What else has a spare's name is never
   * opened: another user's FIFO, or anything but a FIFO, is removed; a directory is left.
   */
  take(count: number): Pipe[] {
    const pipes: Pipe[] = []
    let entries: Dirent[]
    try {
      entries = readdirSync(this.dir, {withFileTypes: true})
    } catch {
      return pipes
    }

    for (const entry of entries) {
      if (pipes.length === count) break
      if (!SPARE.test(entry.name) || entry.isDirectory()) {
        if (CLAIMED.test(entry.name)) this.claimed.push(entry.name)
        else if (MADE.test(entry.name) && entry.isDirectory()) this.made.push(entry.name)
        continue
      }

      const spare = join(this.dir, entry.name)
      const found = entry.isFIFO() ? lstatSync(spare, {throwIfNoEntry: false}) : undefined
      if (!found || found.uid !== this.uid) {
        removeQuietly(spare)
        continue
      }

      const mine = join(this.dir, uniqueName('taken'))
      try {
        renameSync(spare, mine)
      } catch {
        // Another run took it first.
        continue
      }

      const pipe = openFifo(mine)
      removeQuietly(mine)
      // Its inode once had the spare's name, and now has no name at all: no other process can open it.
      const opened = pipe && fstatSync(pipe[0])
      if (pipe && opened && opened.ino === found.ino && opened.nlink === 0) pipes.push(pipe)
      else for (const end of pipe ?? []) closeSync(end)
    }

    return pipes
  }

  /** Whether the process whose id `name` has (`pattern`'s first group) has ended: not this one, and not running (sweep()). */
  private ended(pattern: RegExp, name: string): boolean {
    const pid = Number(pattern.exec(name)![1])
    return pid !== process.pid && !isRunning(pid)
  }

  /**
   * Whether `path` is a FIFO of the user's that only the user may open, as mkfifo -m 600 makes
   * them (lstat: a link is not followed); the stash is private (of()), so no other user can put
   * another file under the name between this check and its removal (sweep()).
   */
  private isOwnFifo(path: string): boolean {
    const found = lstatSync(path, {throwIfNoEntry: false})
    // eslint-disable-next-line no-bitwise -- mode bits: only the user may open it (mkfifo -m 600)
    return found?.isFIFO() === true && found.uid === this.uid && (found.mode & 0o077) === 0
  }

  /** The directory at `path` and the FIFOs in it, if it and they are all as a run of the user's made them (sweep()). */
  private removeMadeDirectory(path: string): void {
    if (!isPrivate(directoryStats(path), this.uid)) return
    let names: string[]
    try {
      names = readdirSync(path)
    } catch {
      return
    }

    if (!names.every((name) => MADE_FIFO.test(name) && this.isOwnFifo(join(path, name)))) return
    for (const name of names) removeQuietly(join(path, name))
    try {
      rmdirSync(path)
    } catch {}
  }
}

/** A new private directory (0700) named `prefix` and six random characters; undefined where it cannot be made. */
function madeDirectory(prefix: string): string | undefined {
  try {
    return mkdtempSync(prefix)
  } catch {}
}

/** Whether a process of this user has the id `pid` (see FifoStash.sweep). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errnoCode(error) !== 'ESRCH' && errnoCode(error) !== 'EPERM'
  }
}

/**
 * Real pipes for the masked streams, one each. Node's own 'pipe' stdio is a socketpair, which
 * `> /dev/stdout`, `tee /dev/stderr` and images that link their logs to /dev/stdout cannot open
 * (ENXIO). Node cannot call pipe(2), so each is a FIFO: taken from the stash of FIFOs made ahead
 * (FifoStash), or else made by mkfifo in a private 0700 directory (in the stash, where there is
 * one: FifoStash.sweep) and removed as soon as both ends are open, so that nothing else ever sees
 * it. mkfifo is a process, started first (start()) so that the caller can do other work while it
 * runs (PipesAhead).
 */
class Fifos {
  /** The pipes as mkfifo's exit leaves them: opened, and the directory removed, at that exit. */
  private readonly atExit: Promise<Pipe[] | undefined>
  /** Whether mkfifo ran (or was not needed): what it made is opened, and checked, either way. */
  private readonly made: Promise<boolean>
  /** The pipes once opened (undefined in it where they could not be), with the directory gone. */
  private opened?: {pipes: Pipe[] | undefined}
  private reported = false

  private constructor(
    private readonly taken: Pipe[],
    private readonly dir: string | undefined,
    private readonly paths: string[],
    spares: string[],
  ) {
    this.made = new Promise<boolean>((resolve) => {
      const outcome = (made: boolean) => {
        this.reported = true
        resolve(made)
      }

      if (paths.length === 0) {
        outcome(true)
        return
      }

      try {
        // Only PATH: under NODE_DEBUG, Node traces a spawn's options, environment included.
        const maker = withoutSpawnTrace(() => spawn('mkfifo', ['-m', '600', ...paths, ...spares], {env: {PATH: process.env.PATH}, stdio: 'ignore'}))
        maker.once('error', () => outcome(false))
        // A spare it could not make (the stash's file system may have no FIFOs) fails it too: the run's own are opened if there.
        maker.once('exit', () => outcome(true))
      } catch {
        outcome(false)
      }
    })
    // Opened at mkfifo's exit whether or not the run has got to them: a run interrupted while
    // its secrets resolve (AWS may take seconds) must not leave the FIFOs in TMPDIR. A failure
    // (no descriptors left) is the caller's to see, through open().
    this.atExit = this.made.then((made) => this.settle(() => (made ? this.openAll() : undefined)))
    this.atExit.catch(() => {})
  }

  /**
   * `count` pipes: from `stash` as far as it has them, the rest made by mkfifo (with spares for
   * the stash). Undefined where those cannot be made: the temporary directory cannot hold them
   * (a TMPDIR that was removed, or is read-only). node:os is loaded here, for tmpdir(), not with
   * this module: `run -- true` with nothing to mask never needs it, and loading it costs about
   * 0.2 ms.
   */
  static start(count: number, stash?: FifoStash): Fifos | undefined {
    const taken = stash?.take(count) ?? []
    if (taken.length === count) return new Fifos(taken, undefined, [], [])
    // In the stash, where there is one, so that a sweep finds it if this run is killed
    // (FifoStash.sweep); else, or where the stash has no room for it, in the temporary directory.
    const dir = (stash && madeDirectory(stash.directoryPrefix())) ?? madeDirectory(join(builtin<typeof import('node:os')>('node:os').tmpdir(), 'keyflow-run-'))
    if (dir === undefined) {
      for (const pipe of taken) for (const end of pipe) closeSync(end)
      return undefined
    }

    const fifos = new Fifos(
      taken,
      dir,
      Array.from({length: count - taken.length}, (_, index) => join(dir, String(index))),
      stash?.spares() ?? [],
    )
    stash?.sweep()
    return fifos
  }

  /**
   * Both ends of each, and the directory removed; undefined where mkfifo is missing or failed
   * (the socketpair then serves). Pipes already there are opened at once: mkfifo's exit reaches
   * keyflow a millisecond or two after its last mknod on a busy machine, and what is in the
   * directory is what mkfifo made (it is keyflow's own, 0700, and each end is checked besides).
   * Until they are all there, this waits for mkfifo to finish.
   */
  async open(): Promise<Pipe[] | undefined> {
    if (!this.opened && !this.reported) {
      const ready = this.openAll()
      if (ready) this.settle(() => ready)
    }

    return this.opened ? this.opened.pipes : this.atExit
  }

  private openAll(): Pipe[] | undefined {
    const pipes: Pipe[] = []
    for (const path of this.paths) {
      const pipe = openFifo(path)
      if (!pipe) break
      pipes.push(pipe)
    }

    if (pipes.length === this.paths.length) return [...this.taken, ...pipes]
    for (const pipe of pipes) for (const end of pipe) closeSync(end)
    return undefined
  }

  /** The pipes `open` gives, the first time; the directory is removed whatever it does. */
  private settle(open: () => Pipe[] | undefined): Pipe[] | undefined {
    if (this.opened) return this.opened.pipes
    try {
      this.opened = {pipes: open()}
      if (!this.opened.pipes) for (const pipe of this.taken) for (const end of pipe) closeSync(end)
      return this.opened.pipes
    } finally {
      for (const path of this.paths) {
        try {
          unlinkSync(path)
        } catch {}
      }

      if (this.dir !== undefined) {
        try {
          rmdirSync(this.dir)
        } catch {
          rmSync(this.dir, {force: true, recursive: true})
        }
      }
    }
  }
}

/** The pipes of `fifos`: none where they could not even be started. */
const pipesOf = async (fifos: Fifos | undefined): Promise<Pipe[] | undefined> => fifos?.open()
const realPipes = (count: number) => pipesOf(Fifos.start(count))

/**
 * The masked streams' pipes, made ahead of the spawn that uses them (`keyflow run` starts mkfifo
 * while the secrets resolve): taken by that one supervise() call, or closed. A signal that kills
 * keyflow in the few milliseconds mkfifo runs leaves their private directory behind: in the
 * stash, where a later sweep removes it (FifoStash.sweep), or in TMPDIR without one.
 */
export class PipesAhead {
  private readonly fifos: Fifos | undefined
  private taken = false

  /** `env`: the run's environment, which says where the FIFOs made ahead are (FifoStash). */
  constructor(count: number, env: NodeJS.ProcessEnv) {
    this.fifos = Fifos.start(count, FifoStash.of(env))
  }

  /** Closes them unless taken; a failure to make them is left to the error the run already ends with. */
  async close(): Promise<void> {
    let made: Pipe[] | undefined
    try {
      made = await this.take()
    } catch {
      return
    }

    for (const pipe of made ?? []) for (const end of pipe) closeSync(end)
  }

  /** The pipes, opened now (as soon as mkfifo has made them); undefined once taken. */
  take(): Promise<Pipe[] | undefined> | undefined {
    if (this.taken) return undefined
    this.taken = true
    return pipesOf(this.fifos)
  }
}

/** A masked stream's end for the child: a real pipe's write end, else Node's socketpair. */
const childEnd = (masked: boolean, pipe: Pipe | undefined) => (pipe ? pipe[1] : masked ? 'pipe' : 'inherit')
/** How much one read of a masked stream may take: a pipe's buffer on Linux. */
const READ_BYTES = 64 * 1024
/** The buffers reads go into, one after another, each read with READ_BYTES of room at least. */
const SLAB_BYTES = 2 * READ_BYTES
/** How much masked output may wait for keyflow's own reader before the child's stream is paused. */
const QUEUED_BYTES = 4 * READ_BYTES
/**
 * How many slabs may hold chunks whose output waits to be written before the child's stream is
 * paused (output that masks shrank pins a slab with a few bytes), and how many such chunks
 * (each queued write costs some hundred bytes of bookkeeping, whatever its size).
 */
const QUEUED_SLABS = QUEUED_BYTES / READ_BYTES
const QUEUED_CHUNKS = 256
const EMPTY = Buffer.alloc(0)

/**
 * keyflow's end of a masked stream: its chunks as they come; written(), called once for each
 * chunk, in order, when its output is out; and whether too many wait for that, so that the
 * stream should be paused.
 */
interface MaskedSource {
  backlogged(): boolean
  start(onChunk: (chunk: Buffer) => void): Readable
  written(): void
}

/** A buffer that reads go into one after another; `unwritten` of the chunks read into it wait to be written. */
interface Slab {
  bytes: Buffer
  unwritten: number
  used: number
}

const newSlab = (): Slab => ({bytes: Buffer.allocUnsafe(SLAB_BYTES), unwritten: 0, used: 0})

/**
 * The buffers a real pipe is read into. Each read goes into the rest of the current slab while
 * READ_BYTES are left, else into the next slab, so every read can take a whole pipe (a smaller
 * room splits a full pipe into two reads, and the second one's remainder splits the next).
 * Chunks are written out in the order they were read, so the next written() frees a chunk of
 * the oldest slab holding any; a slab is read into again once all of its chunks are out.
 * keyflow's memory then follows the bytes waiting to be written, not the number of reads: a
 * buffer of its own for each read cost 64 KiB per chunk (a child printing short lines to a
 * stalled reader grew keyflow by 72 MB of RSS before the pause), and at full speed those
 * buffers, left to the garbage collector between scavenges, raised the peak RSS with the
 * length of the output.
 */
class ReadSlabs {
  private current = newSlab()
  private readonly free: Slab[] = []
  /** Slabs holding chunks not yet written, oldest first. */
  private readonly holding: Slab[] = []
  private unwritten = 0

  get backlogged(): boolean {
    return this.holding.length > QUEUED_SLABS || this.unwritten > QUEUED_CHUNKS
  }

  /** Where the next read goes. */
  room(): Buffer {
    if (this.current.bytes.length - this.current.used < READ_BYTES) {
      if (this.current.unwritten === 0) this.current.used = 0
      else this.current = this.free.pop() ?? newSlab()
    }

    return this.current.bytes.subarray(this.current.used)
  }

  /** The `size` bytes the last read put in room(). */
  take(size: number): Buffer {
    const slab = this.current
    const chunk = slab.bytes.subarray(slab.used, slab.used + size)
    slab.used += size
    this.unwritten++
    if (slab.unwritten++ === 0) this.holding.push(slab)
    return chunk
  }

  /** The oldest chunk not yet written is out. */
  written(): void {
    const slab = this.holding[0]
    this.unwritten--
    if (--slab.unwritten > 0) return
    this.holding.shift()
    if (slab !== this.current) {
      slab.used = 0
      this.free.push(slab)
    }
  }
}

/** keyflow's end of a masked stream: a real pipe read into ReadSlabs, else the socketpair's own chunks (each a buffer of its own, its size). */
function ownEnd(pipe: Pipe | undefined, socketpair: null | Readable): MaskedSource | undefined {
  if (!pipe && !socketpair) return undefined
  if (!pipe) {
    let unwritten = 0
    return {
      backlogged: () => unwritten > QUEUED_CHUNKS,
      start: (onChunk) =>
        socketpair!.on('data', (chunk: Buffer) => {
          unwritten++
          onChunk(chunk)
        }),
      written() {
        unwritten--
      },
    }
  }

  const slabs = new ReadSlabs()
  return {
    backlogged: () => slabs.backlogged,
    start(onChunk) {
      const onread: OnReadOpts = {
        // Called once at the start and after each chunk's callback, for the next read.
        buffer: () => slabs.room(),
        callback(size) {
          onChunk(slabs.take(size))
          // Backpressure pauses the socket itself (pump).
          return true
        },
      }
      // Node's Socket takes onread itself (net.connect passes it on); @types/node lists it for connect only.
      return new Socket({fd: pipe[0], onread, readable: true, writable: false} as SocketConstructorOpts)
    },
    written: () => slabs.written(),
  }
}

/**
 * Makes `listener` the only one of `stream`'s 'error' listeners until the returned function
 * puts the others back. While a child's output is copied to it, a failed write is the copy's to
 * handle: it stops the child, and supervise() reports the error once the child has ended.
 * Others would end keyflow at once (guardOutput's exit 74) or crash it (oclif's listener
 * rethrows), leaving the child running without its parent.
 */
function onlyErrorListener(stream: Writable, listener: (error: NodeJS.ErrnoException) => void): () => void {
  const others = stream.rawListeners('error') as Array<(error: Error) => void>
  stream.removeAllListeners('error').on('error', listener)
  return () => {
    stream.off('error', listener)
    for (const other of others) stream.on('error', other)
  }
}

/**
 * Copies `source` to `target` through a masker, with backpressure. Resolves when the source
 * ends, or, once the child has exited, when it has been quiet for QUIET_MS (a background
 * grandchild may hold the pipe open forever). A target that fails (EPIPE: `| head`; or a full
 * disk, an I/O error, which `onBroken` gets to report once the child has ended) closes the
 * source, so the child meets what a writer in a shell pipeline meets (SIGPIPE). Resolves to the
 * target when it was written to and is still writable. `masks.set` may be replaced while the
 * command runs (a rotation under --watch-reload): the stream follows it from its next chunk.
 * The target (process.stdout, process.stderr: making one costs a millisecond or two), the
 * masker and the set it reads are made by the first chunk, so a command that prints nothing
 * pays for none of them; an `eager` target, at once.
 */
async function pump(
  source: MaskedSource,
  target: () => Writable,
  {eager, exited, masks, onBroken}: {eager: boolean; exited: Promise<unknown>; masks: {readonly set: MaskSet}; onBroken: (error: NodeJS.ErrnoException) => void},
): Promise<undefined | Writable> {
  return new Promise((resolve) => {
    // eslint-disable-next-line prefer-const -- assigned once the handlers it needs exist
    let stream: Readable
    // A monotonic clock: on the wall clock, one set back would hold keyflow's exit for as long as the step.
    let lastData = performance.now()
    let blocked = false
    let broken = false
    let done = false
    let out: undefined | Writable
    let masker: StreamMasker | undefined
    let restoreListeners: (() => void) | undefined
    /**
     * Writes masked pieces: a chunk's, then `written` is called once they are out (after every
     * chunk's before it: Node calls write callbacks in order, and one function for all of them
     * lets it call them in one tick); or the masker's last ones.
     */
    const write = (pieces: Buffer[], written?: () => void) => {
      if (broken || !out) {
        written?.()
        return
      }

      if (pieces.length === 0) {
        // A chunk held back whole: it is done once those before it are.
        if (written) out.write(EMPTY, written)
        return
      }

      // A chunk's pieces (a mask splits it) go out in one writev, not a write (and a wake-up of the reader) each.
      const last = pieces.length - 1
      if (last > 0) out.cork()
      for (let index = 0; index < last; index++) out.write(pieces[index])
      out.write(pieces[last], written)
      if (last > 0) out.uncork()
      // write() says false for any chunk over the high-water mark, even one the kernel took at
      // once. The source is held back only while more than QUEUED_BYTES (or what its buffers
      // allow) wait to be written: up to that, reading and masking the next chunks overlaps
      // the reader taking the last ones.
      if (!blocked && (out.writableLength > QUEUED_BYTES || source.backlogged())) {
        blocked = true
        stream.pause()
        // An empty write's callback comes once everything written before it is out.
        out.write(EMPTY, () => {
          blocked = false
          lastData = performance.now()
          stream.resume()
        })
      }
    }

    let quiet: NodeJS.Timeout | undefined
    const finish = () => {
      if (done) return
      done = true
      if (quiet) clearInterval(quiet)
      if (masker) write(masker.end())
      restoreListeners?.()
      resolve(broken ? undefined : out)
    }

    const onTargetError = (error: NodeJS.ErrnoException) => {
      broken = true
      onBroken(error)
      stream.destroy()
      finish()
    }

    const open = () => {
      out = target()
      restoreListeners = onlyErrorListener(out, onTargetError)
    }

    if (eager) open()
    const written = () => source.written()
    stream = source.start((chunk) => {
      lastData = performance.now()
      if (!out) open()
      if (!masker) masker = new StreamMasker(masks.set)
      else if (masker.masks !== masks.set) masker.use(masks.set)
      write(masker.write(chunk), written)
    })
    stream.once('end', finish)
    stream.once('close', finish)
    stream.once('error', finish)
    exited.then(() => {
      if (done) return
      quiet = setInterval(() => {
        if (!blocked && performance.now() - lastData >= QUIET_MS) {
          stream.destroy()
          finish()
        }
      }, QUIET_MS / 2)
    })
  })
}

/**
 * Under NODE_DEBUG=child_process, Node's spawn() prints its options, the child's whole
 * environment included, on keyflow's stderr: every injected secret would be there in clear.
 * Node writes that trace synchronously through process.stderr.write within the call, so the
 * write is dropped for the duration of that one call (the child still gets NODE_DEBUG).
 */
function withoutSpawnTrace<T>(start: () => T): T {
  if (!debuglog('child_process').enabled) return start()
  const {write} = process.stderr
  process.stderr.write = (() => true) as typeof process.stderr.write
  try {
    return start()
  } finally {
    process.stderr.write = write
  }
}

export async function supervise(options: SuperviseOptions): Promise<ChildExit> {
  const {masking} = options
  const masked = [masking?.stdout === true, masking?.stderr === true]
  // Before the signal handlers: between them and the spawn nothing may wait, or a signal would find no child.
  const pipes = masked.some(Boolean) ? await (options.pipes ?? realPipes(masked.filter(Boolean).length)) : undefined
  let child: ChildProcess | undefined
  let killTimer: NodeJS.Timeout | undefined
  const live = () => child !== undefined && child.exitCode === null && child.signalCode === null
  // Decided once, before the spawn: a child in keyflow's group gets the terminal's own signals.
  const ownGroup = !terminalDeliversKeyboardSignals()
  const deliver = (signal: NodeJS.Signals) => {
    if (!live()) return
    try {
      if (ownGroup) process.kill(-child!.pid!, signal)
      else child!.kill(signal)
    } catch {}
  }

  const handlers = new Map<NodeJS.Signals, () => void>(FORWARDED_SIGNALS.map((signal) => [signal, () => deliver(signal)]))
  for (const signal of KEYBOARD_SIGNALS) handlers.set(signal, () => (ownGroup || !terminalDeliversKeyboardSignals()) && deliver(signal))
  const {killAfterMs} = options
  if (killAfterMs !== undefined) {
    handlers.set('SIGTERM', () => {
      deliver('SIGTERM')
      killTimer ??= setTimeout(() => deliver('SIGKILL'), killAfterMs)
    })
  }

  for (const [signal, handler] of handlers) process.on(signal, handler)
  const uninstall = () => {
    if (killTimer) clearTimeout(killTimer)
    for (const [signal, handler] of handlers) process.off(signal, handler)
  }

  let made = 0
  const [stdoutPipe, stderrPipe] = masked.map((on) => (on && pipes ? pipes[made++] : undefined))
  const closeReadEnds = () => {
    for (const [read] of pipes ?? []) closeSync(read)
  }

  try {
    child = withoutSpawnTrace(() =>
      spawn(options.command, options.args, {
        detached: ownGroup,
        env: options.env,
        stdio: ['inherit', childEnd(masked[0], stdoutPipe), childEnd(masked[1], stderrPipe)],
      }),
    )
  } catch (error) {
    uninstall()
    closeReadEnds()
    throw spawnError(options.command, error)
  } finally {
    // The child has its copies of the write ends; keyflow's would keep the pipes from ever ending.
    for (const pipe of pipes ?? []) closeSync(pipe[1])
  }

  const spawned = child
  const exited = new Promise<{code: null | number; signal: NodeJS.Signals | null}>((resolve) => {
    spawned.once('exit', (code, signal) => resolve({code, signal}))
  })
  const started = await new Promise<{error?: unknown}>((resolve) => {
    spawned.once('spawn', () => resolve({}))
    spawned.once('error', (error) => resolve({error}))
  })
  if ('error' in started) {
    uninstall()
    closeReadEnds()
    throw spawnError(options.command, started.error)
  }

  // --watch stops and restarts the command as forwarded signals reach it: its whole group when it has one.
  options.onSpawn?.(deliver)
  // Where keyflow's output went away (`| head`) and the pipe is a socketpair, which would only
  // say ECONNRESET, the child gets what a writer in a shell pipeline gets: SIGPIPE.
  // Stdout that could not be written (not EPIPE: a full disk) is keyflow's error, exit 74, once
  // the child has ended: the output is lost, as the command's own exit code would not say.
  // Stderr's failures end the copy and no more, as coreutils leave what they cannot write there.
  let outputError: NodeJS.ErrnoException | undefined
  const brokenPipe = (error: NodeJS.ErrnoException, isStdout: boolean) => {
    if (isStdout && error.code !== 'EPIPE') outputError ??= error
    if (pipes === undefined && live()) spawned.kill('SIGPIPE')
  }

  const pumps = [
    {eager: false, isStdout: true, pipe: stdoutPipe, socketpair: spawned.stdout, stream: () => process.stdout},
    {eager: options.notices === true, isStdout: false, pipe: stderrPipe, socketpair: spawned.stderr, stream: stderrStream},
  ].map(async ({eager, isStdout, pipe, socketpair, stream}) => {
    const source = ownEnd(pipe, socketpair)
    if (!source || !masking) return
    const written = await pump(source, stream, {eager, exited, masks: masking, onBroken: (error) => brokenPipe(error, isStdout)})
    // Where writes are asynchronous (a pipe on macOS), keyflow's exit must not cut the tail off.
    if (written) await drained(written)
  })
  const {code, signal} = await exited
  await Promise.all(pumps)
  uninstall()
  if (outputError) throw cannotWrite(outputError)
  if (signal) {
    const number = builtin<typeof import('node:os')>('node:os').constants.signals[signal] ?? 0
    return {code: 128 + number, signal: {name: signal, number}}
  }

  return {code: code ?? ExitCode.INTERNAL}
}
