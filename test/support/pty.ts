import {spawn as spawnPty} from 'node-pty'

import {BIN} from './cli.js'

/**
 * Runs the built CLI under a real pseudo-terminal (stdin, stdout and stderr all the terminal).
 * `respond` sees the output so far and may type into the terminal, as a person would, once
 * what it waits for has shown.
 */
export async function runInPty(
  args: string[],
  options: {cwd?: string; env: Record<string, string>; respond?: (output: string, type: (text: string) => void) => void},
): Promise<{code: number; output: string}> {
  const terminal = spawnPty(process.execPath, ['--', BIN, ...args], {cols: 200, cwd: options.cwd, env: {...options.env, TERM: 'xterm'}, rows: 24})
  let output = ''
  terminal.onData((data) => {
    output += data
    options.respond?.(output, (text) => terminal.write(text))
  })
  const code = await new Promise<number>((resolve) => {
    terminal.onExit(({exitCode}) => resolve(exitCode))
  })
  return {code, output}
}

export interface PtySession {
  /**
   * Types `exit` and waits until the program has exited (SIGKILL if it has not within 10 s):
   * node-pty closes the terminal's descriptors as the program exits, and a descriptor closed
   * late could be one a later child's pipe has reused by then.
   */
  close(): Promise<void>
  /** Everything the terminal showed so far. */
  output(): string
  type(text: string): void
  /**
   * Resolves with the output once `pattern` shows after `from` (an offset in it), as a person
   * waits for a prompt; rejects, with what did show, if the program exits or 30 s pass first.
   */
  waitFor(pattern: RegExp, from?: number): Promise<string>
}

/** Any program (an interactive shell) under a real pseudo-terminal, driven by typing into it. */
export function ptySession(file: string, args: string[], options: {cwd?: string; env: Record<string, string>}): PtySession {
  const terminal = spawnPty(file, args, {cols: 200, cwd: options.cwd, env: {...options.env, TERM: 'xterm'}, rows: 24})
  let output = ''
  let exited = false
  const waiters = new Set<() => void>()
  terminal.onData((data) => {
    output += data
    for (const check of waiters) check()
  })
  const exit = new Promise<void>((resolve) => {
    terminal.onExit(() => {
      exited = true
      for (const check of waiters) check()
      resolve()
    })
  })
  return {
    async close() {
      if (exited) return
      terminal.write('\u0015exit\r')
      const timer = setTimeout(() => terminal.kill('SIGKILL'), 10_000)
      await exit
      clearTimeout(timer)
    },
    output: () => output,
    type: (text) => terminal.write(text),
    waitFor(pattern, from = 0) {
      const fail = (why: string) => new Error(`${file} ${why} before ${pattern} showed; it showed: ${JSON.stringify(output.slice(from).slice(-2000))}`)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(fail('took 30 s'))
        }, 30_000)
        function check() {
          if (pattern.test(output.slice(from))) resolve(output)
          else if (exited) reject(fail('exited'))
          else return
          waiters.delete(check)
          clearTimeout(timer)
        }

        waiters.add(check)
        check()
      })
    },
  }
}
