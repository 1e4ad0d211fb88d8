import {writeSync} from 'node:fs'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {errorJson, renderErrorText} from './render-error.js'

/**
 * The one way a command's result reaches stdout, for oclif's path (BaseCommand) and the fast
 * path alike: the data as it is, or under --json one JSON document (plain, the same bytes on a
 * terminal or a pipe). A reader that went away (`| head -c1`) is not an error: keyflow exits
 * quietly with the code it already has.
 */

/**
 * Output that cannot be written (a full disk, an I/O error) ends keyflow with exit 74 and one
 * error on stderr, written at once: the result is lost, and nothing else can be said on stdout.
 */
export function outputFailed(error: unknown, json: boolean): never {
  const failure = new KeyflowError(`Cannot write the output: ${describeFsError(error)}.`, {
    code: 'OUTPUT_FAILED',
    exit: ExitCode.OUTPUT,
    fix: 'Free space where stdout goes, or send the output somewhere else.',
  })
  try {
    writeSync(2, json ? JSON.stringify(errorJson(failure), null, 2) + '\n' : renderErrorText(failure))
  } catch {}

  // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
  process.exit(failure.exit)
}

const guarded = new WeakSet<NodeJS.WriteStream>()

/**
 * For oclif's path (BaseCommand): an error writing stdout other than EPIPE ends keyflow as
 * outputFailed says. Put before every other listener: oclif's own rethrows it, and Node then
 * reports a crash, printing the bundle's whole source line. EPIPE goes on to the listeners below.
 */
export function guardOutput(json: () => boolean, stream: NodeJS.WriteStream = process.stdout): void {
  if (guarded.has(stream)) return
  guarded.add(stream)
  stream.prependListener('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') outputFailed(error, json())
  })
}

export function quietOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  if (stream.listenerCount('error') > 0) return
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    process.exit(process.exitCode ?? 0)
  })
}

export function writeData(data: string | Uint8Array): void {
  quietOnBrokenPipe()
  process.stdout.write(data)
}

export function writeJson(json: unknown): void {
  writeData(JSON.stringify(json, null, 2) + '\n')
}

/**
 * The fast path's output, written to the descriptor itself: nothing has used process.stdout
 * there, and creating it loads Node's stream, net and tty modules, a tenth of `secret get`'s
 * start-up. A non-blocking descriptor that is full (EAGAIN) hands the rest to process.stdout,
 * which waits for the reader.
 */
function writeDirect(data: string | Uint8Array, json: boolean): void {
  let rest = typeof data === 'string' ? Buffer.from(data) : data
  try {
    while (rest.length > 0) rest = rest.subarray(writeSync(1, rest))
  } catch (error) {
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    if (errnoCode(error) === 'EPIPE') process.exit(process.exitCode ?? 0)
    if (errnoCode(error) !== 'EAGAIN') outputFailed(error, json)
    guardOutput(() => json)
    writeData(rest)
  }
}

/** A fast command's output: `stdout` normally, `json` under --json (nothing when undefined). */
export function emit(output: {json?: unknown; stdout: string | Uint8Array}, json: boolean): void {
  if (!json) writeDirect(output.stdout, json)
  else if (output.json !== undefined) writeDirect(JSON.stringify(output.json, null, 2) + '\n', json)
}
