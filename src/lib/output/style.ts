import {builtin} from '../util/builtin.js'

let stderrTerminal: boolean | undefined

/**
 * Asked of the descriptor, not of process.stderr: diagnostics are written to fd 2 itself
 * (warn.ts), and making the stream costs a millisecond or more. node:tty (with the net and
 * stream modules it loads, some 2 ms) is required only when the answer is needed; `run` has it
 * loaded already.
 */
function stderrIsTerminal(): boolean {
  stderrTerminal ??= builtin<typeof import('node:tty')>('node:tty').isatty(2)
  return stderrTerminal
}

/**
 * Colour for diagnostics on stderr, only when stderr is a terminal and NO_COLOR is unset
 * (https://no-color.org). Data on stdout is never coloured: scripts parse it.
 */
export function useColor(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return env.TERM !== 'dumb' && stderrIsTerminal()
}

type Paint = (text: string) => string

function sgr(open: number, close: number): Paint {
  return (text) => (useColor() ? `\u001B[${open}m${text}\u001B[${close}m` : text)
}

export const style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  green: sgr(32, 39),
  red: sgr(31, 39),
  yellow: sgr(33, 39),
}
