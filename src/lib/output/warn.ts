import {writeToDescriptor} from './emit.js'
import {escapeControls} from './escape.js'
import {style} from './style.js'

let stream: NodeJS.WriteStream | undefined

/**
 * process.stderr, for those who write to it as a stream (a masked stderr's copy of the command's
 * output). Once it is in use, diagnostics go through it too: a line written to the descriptor
 * itself would overtake what waits in the stream for a slow reader.
 */
export function stderrStream(): NodeJS.WriteStream {
  stream ??= process.stderr
  return stream
}

/**
 * A line on stderr, written to fd 2 itself until something needs process.stderr: `keyflow run`
 * often has one warning to say and nothing else on stderr, and making the stream would cost it a
 * millisecond or more. A stderr that cannot take the line (its reader went away, a full disk)
 * does not stop keyflow or change its exit code: there is nowhere left to say so.
 */
function diagnostic(line: string): void {
  if (stream) {
    stream.write(line)
    return
  }

  try {
    writeToDescriptor(2, line, stderrStream)
  } catch {}
}

/** A diagnostic on stderr. Never pass a secret value here. */
export function warn(message: string): void {
  diagnostic(`${style.yellow('Warning:')} ${escapeControls(message)}\n`)
}

/** An informational line on stderr (which store answered, say), kept off stdout so data stays parseable. */
export function note(message: string): void {
  diagnostic(`${style.dim(message)}\n`)
}
