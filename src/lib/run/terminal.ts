import {accessSync, constants as fsConstants, statSync} from 'node:fs'
import {constants} from 'node:os'
import {delimiter, join} from 'node:path'

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
 */

type PtyModule = typeof import('@lydell/node-pty')

/** The pty library, or undefined where it is not installed or cannot load on this platform. */
export async function loadPty(): Promise<PtyModule | undefined> {
  try {
    return await import('@lydell/node-pty')
  } catch {
    return undefined
  }
}

/** node-pty reports a failed exec only as the child's exit; find the command first, as a shell would. */
function checkCommand(command: string, env: Record<string, string>): void {
  const candidates = command.includes('/') ? [command] : (env.PATH ?? '').split(delimiter).map((dir) => join(dir || '.', command))
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, fsConstants.X_OK)
      return
    } catch (error) {
      if (command.includes('/')) throw spawnError(command, error)
    }
  }

  throw spawnError(command, Object.assign(new Error('not found'), {code: command.includes('/') ? 'EACCES' : 'ENOENT'}))
}

export interface TerminalOptions {
  args: string[]
  command: string
  env: Record<string, string>
  set: MaskSet
}

export async function superviseInTerminal(pty: PtyModule, {args, command, env, set}: TerminalOptions): Promise<ChildExit> {
  checkCommand(command, env)
  const {stdin, stdout} = process
  const child = pty.spawn(command, args, {
    cols: stdout.columns,
    cwd: process.cwd(),
    encoding: null,
    env,
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
      child.resize(stdout.columns, stdout.rows)
    } catch {
      // The child's terminal is already gone: it has exited.
    }
  }

  // Keys arrive as bytes; a signal sent to keyflow itself is passed on to the child.
  const handlers = new Map<NodeJS.Signals, () => void>([...FORWARDED_SIGNALS, ...KEYBOARD_SIGNALS].map((signal) => [signal, () => child.kill(signal)]))
  for (const [signal, handler] of handlers) process.on(signal, handler)
  const wasRaw = stdin.isRaw
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
  if (exit.signal) {
    const name = (Object.keys(constants.signals) as NodeJS.Signals[]).find((candidate) => constants.signals[candidate] === exit.signal)!
    return {code: 128 + exit.signal, signal: {name, number: exit.signal}}
  }

  return {code: exit.exitCode}
}
