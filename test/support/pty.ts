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
