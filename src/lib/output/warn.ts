import {escapeControls} from './escape.js'
import {style} from './style.js'

/** A diagnostic on stderr. Never pass a secret value here. */
export function warn(message: string): void {
  process.stderr.write(`${style.yellow('Warning:')} ${escapeControls(message)}\n`)
}
