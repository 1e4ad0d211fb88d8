import {execFileSync} from 'node:child_process'
import {accessSync, constants as fsConstants, readFileSync, statSync} from 'node:fs'
import {constants} from 'node:os'
import {delimiter, join} from 'node:path'

import {importModule} from '../util/import-module.js'
import {MaskSet, StreamMasker} from './masker.js'
import {ChildExit, FORWARDED_SIGNALS, KEYBOARD_SIGNALS, spawnError} from './supervise.js'

/**
 * Masking at a terminal without taking it away (docs/run.md "Masking at a terminal"): the
 * child gets a pseudo-terminal of its own, keyflow's terminal goes into raw mode and every
 * byte passes both ways untouched, except that the child's output goes through the masker.
 * Keys reach the child's terminal as bytes, so its own line discipline turns Ctrl-C, Ctrl-\
 * and Ctrl-Z into signals for its foreground group, exactly as a terminal would; colours,
 * line editing and raw-mode programs see a real terminal; a resize of keyflow's terminal is
 * passed on (SIGWINCH). @lydell/node-pty (prebuilt binaries) is an optional dependency,
 * loaded only here.
 *
 * Job control (Ctrl-Z): the pty's first process leads a session of its own whose parent,
 * keyflow, is outside it, so its process group is orphaned and the kernel discards every
 * terminal stop signal sent to it (POSIX; Linux's get_signal drops SIGTSTP, SIGTTIN and
 * SIGTTOU with the default action there), and a program that suspends itself (vim, less)
 * cannot either. So the first process is a small job-control helper (JOB_CONTROL, in Perl,
 * whose POSIX module has setpgid, tcsetpgrp and waitpid with WUNTRACED; Node has none of
 * them): it starts the command in a process group of its own, in the foreground of the
 * pseudo-terminal, which a parent in the same session makes an ordinary job. When the command
 * stops, the helper takes the terminal back and stops itself; keyflow learns that from
 * SIGCHLD (sent on a child's stop too) and the child's state, gives its own terminal back its
 * mode and stops its process group, as any stopped job; on SIGCONT (`fg`) it re-enters raw
 * mode, passes the window size and continues the helper, which hands the terminal back to the
 * command and continues its group. script(1) stops itself likewise when its child stops
 * (util-linux pty-session.c); ssh and expect cannot, for the same orphaned group. Catching
 * the ^Z byte and SIGSTOPping the child instead would take the key from programs that bind it
 * or run jobs of their own (bash -i). The helper
 * forwards the signals keyflow passes on to the command's group, and ends as the command did
 * (the same signal, or its exit code). Without perl, the command leads the session as before
 * and Ctrl-Z does not suspend.
 */

type PtyModule = typeof import('@lydell/node-pty')

/** The pty library, or undefined where it is not installed or cannot load on this platform. */
export async function loadPty(): Promise<PtyModule | undefined> {
  try {
    return await importModule<PtyModule>('@lydell/node-pty')
  } catch {
    return undefined
  }
}

/**
 * Variables that act on perl itself (modules it loads, its debugger, I/O layers, locale
 * warnings): the helper runs without the command's values of them, which it puts back, under
 * SAVED_PREFIX, just before exec, so the command gets exactly the environment keyflow built.
 */
const PERL_OWN_VARIABLES = ['PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'PERLIO', 'PERL_UNICODE', 'PERL_BADLANG']
const SAVED_PREFIX = 'KEYFLOW_PERL_SAVED_'

/** The helper's environment: the command's, perl's own variables moved aside, locale warnings off (a missing locale is the command's business). */
function helperEnvironment(env: Record<string, string>): Record<string, string> {
  const helper: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(env)) {
    if (PERL_OWN_VARIABLES.includes(name)) helper[SAVED_PREFIX + name] = value
    else helper[name] = value
  }

  helper.PERL_BADLANG = '0'
  return helper
}

/**
 * perl from a system location only, as root or the user installed it: the helper sees every
 * secret, and a PATH entry (an empty one is the working directory) is not a place to trust.
 */
const PERL_PATHS = ['/usr/bin/perl', '/bin/perl', '/usr/local/bin/perl']

function trustedPerl(): string | undefined {
  for (const candidate of PERL_PATHS) {
    try {
      const stat = statSync(candidate)
      // eslint-disable-next-line no-bitwise -- mode bits
      const othersMayWrite = (stat.mode & 0o022) !== 0
      if (stat.isFile() && !othersMayWrite && (stat.uid === 0 || stat.uid === process.getuid?.())) {
        accessSync(candidate, fsConstants.X_OK)
        return candidate
      }
    } catch {}
  }

  return undefined
}

/**
 * Run by `perl -e` as the pty's first process, with the command as its arguments. Dies from
 * the command's killing signal, but exits 128+N for those that dump core, which would leave a
 * core file of perl's beside the command's. The exit code is the same either way.
 */
const JOB_CONTROL = String.raw`
use POSIX ();
$SIG{TTOU} = 'IGNORE';
my $pid = fork;
defined $pid or exit 126;
if ($pid == 0) {
  POSIX::setpgid(0, 0);
  POSIX::tcsetpgrp(0, $$);
  $SIG{TTOU} = 'DEFAULT';
  for my $name (qw(${PERL_OWN_VARIABLES.join(' ')})) {
    delete $ENV{$name};
    $ENV{$name} = delete $ENV{"${SAVED_PREFIX}$name"} if exists $ENV{"${SAVED_PREFIX}$name"};
  }
  exec { $ARGV[0] } @ARGV;
  exit($!{ENOENT} ? 127 : 126);
}
POSIX::setpgid($pid, $pid);
POSIX::tcsetpgrp(0, $pid);
for my $name (qw(TERM HUP USR1 USR2 INT QUIT)) { $SIG{$name} = sub { kill $name, -$pid } }
my $status;
while (1) {
  if (waitpid($pid, POSIX::WUNTRACED()) != $pid) { next if $!{EINTR}; exit 126 }
  $status = $ {^CHILD_ERROR_NATIVE};
  last unless POSIX::WIFSTOPPED($status);
  POSIX::tcsetpgrp(0, POSIX::getpgrp());
  kill 'STOP', $$;
  POSIX::tcsetpgrp(0, $pid);
  kill 'CONT', -$pid;
}
exit POSIX::WEXITSTATUS($status) if POSIX::WIFEXITED($status);
my $signal = POSIX::WTERMSIG($status);
exit 128 + $signal if $status & 128;
$SIG{$_} = 'DEFAULT' for qw(TERM HUP USR1 USR2 INT QUIT TTOU);
kill $signal, $$;
exit 128 + $signal;
`

/** Where `command` runs from, as execvp finds it: the path, or the error of the last candidate tried. */
function findCommand(command: string, path: string | undefined): {error?: unknown; found?: string} {
  const candidates = command.includes('/') ? [command] : (path ?? '').split(delimiter).map((dir) => join(dir || '.', command))
  let error: unknown = Object.assign(new Error('not found'), {code: command.includes('/') ? 'EACCES' : 'ENOENT'})
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, fsConstants.X_OK)
      return {found: candidate}
    } catch (error_) {
      if (command.includes('/')) error = error_
    }
  }

  return {error}
}

/** Whether the process is stopped (job control), read from the kernel, never guessed from timing. */
function isStopped(pid: number): boolean {
  try {
    if (process.platform === 'linux') {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')
    }

    return execFileSync('ps', ['-o', 'state=', '-p', String(pid)], {encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore']}).trim().startsWith('T')
  } catch {
    return false
  }
}

export interface TerminalOptions {
  args: string[]
  command: string
  env: Record<string, string>
  set: MaskSet
}

export async function superviseInTerminal(pty: PtyModule, {args, command, env, set}: TerminalOptions): Promise<ChildExit> {
  // node-pty reports a failed exec only as the child's exit; find the command first, as a shell would.
  const {error} = findCommand(command, env.PATH)
  if (error) throw spawnError(command, error)
  const perl = trustedPerl()
  const {stdin, stdout} = process
  const [file, argv] = perl ? [perl, ['-e', JOB_CONTROL, '--', command, ...args]] : [command, args]
  const child = pty.spawn(file, argv, {
    cols: stdout.columns,
    cwd: process.cwd(),
    encoding: null,
    env: perl ? helperEnvironment(env) : env,
    name: env.TERM ?? 'xterm-256color',
    rows: stdout.rows,
  })
  const masker = new StreamMasker(set)
  const write = (chunks: Buffer[]) => {
    for (const chunk of chunks) stdout.write(chunk)
  }

  // node-pty reports the exit only once the terminal has been read to its end.
  const onData = child.onData((data) => write(masker.write(Buffer.from(data as unknown as Uint8Array))))
  const onInput = (data: Buffer) => child.write(data as unknown as string)
  const onResize = () => {
    try {
      const [columns, rows] = stdout.getWindowSize()
      child.resize(columns, rows)
    } catch {
      // The child's terminal is already gone: it has exited.
    }
  }

  const wasRaw = stdin.isRaw
  // The helper stopped because the command did (Ctrl-Z, SIGSTOP): stop as a job, continue on `fg`.
  const onChildStatus = () => {
    if (!isStopped(child.pid)) return
    stdin.setRawMode(wasRaw)
    process.kill(0, 'SIGTSTP')
    // Here once continued (or at once, if keyflow's own group is orphaned and cannot stop).
    stdin.setRawMode(true)
    onResize()
    process.kill(child.pid, 'SIGCONT')
  }

  // Keys arrive as bytes; a signal sent to keyflow itself is passed on to the child.
  const handlers = new Map<NodeJS.Signals, () => void>([...FORWARDED_SIGNALS, ...KEYBOARD_SIGNALS].map((signal) => [signal, () => child.kill(signal)]))
  for (const [signal, handler] of handlers) process.on(signal, handler)
  if (perl) process.on('SIGCHLD', onChildStatus)
  stdin.setRawMode(true)
  stdin.on('data', onInput).resume()
  stdout.on('resize', onResize)
  const exit = await new Promise<{exitCode: number; signal?: number}>((resolve) => {
    child.onExit(resolve)
  })
  onData.dispose()
  write(masker.end())
  stdout.off('resize', onResize)
  stdin.off('data', onInput).pause()
  stdin.setRawMode(wasRaw)
  for (const [signal, handler] of handlers) process.off(signal, handler)
  process.off('SIGCHLD', onChildStatus)
  if (exit.signal) {
    const name = (Object.keys(constants.signals) as NodeJS.Signals[]).find((candidate) => constants.signals[candidate] === exit.signal)!
    return {code: 128 + exit.signal, signal: {name, number: exit.signal}}
  }

  return {code: exit.exitCode}
}
