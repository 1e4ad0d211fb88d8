/**
 * Colour for diagnostics on stderr, only when stderr is a terminal and NO_COLOR is unset
 * (https://no-color.org). Data on stdout is never coloured: scripts parse it.
 */
export function useColor(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true && env.TERM !== 'dumb'
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
