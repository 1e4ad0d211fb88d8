import {escapeControls} from './escape.js'
import {style} from './style.js'

/** A diagnostic on stderr. Never pass a secret value here. */
export function warn(message: string): void {
  process.stderr.write(`${style.yellow('Warning:')} ${escapeControls(message)}\n`)
}

/** An informational line on stderr (which store answered, say), kept off stdout so data stays parseable. */
export function note(message: string): void {
  process.stderr.write(`${style.dim(message)}\n`)
}
