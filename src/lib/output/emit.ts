import type {Writable} from 'node:stream'

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
  exitWithError(cannotWrite(error), json)
}

/** What outputFailed says (exit 74), for one who reports it later: `keyflow run`, once its command has ended. */
export function cannotWrite(error: unknown): KeyflowError {
  return new KeyflowError(`Cannot write the output: ${describeFsError(error)}.`, {
    code: 'OUTPUT_FAILED',
    exit: ExitCode.OUTPUT,
    fix: 'Free space where stdout goes, or send the output somewhere else.',
  })
}

/** Ends keyflow at once with `error` on stderr (JSON under --json), written synchronously, and its exit code. */
export function exitWithError(error: KeyflowError, json: boolean): never {
  try {
    writeSync(2, json ? JSON.stringify(errorJson(error), null, 2) + '\n' : renderErrorText(error))
  } catch {}

  // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
  process.exit(error.exit)
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
 * `data` written to descriptor `fd` itself, where the process's stream for it (process.stdout,
 * process.stderr) is not needed otherwise: creating one costs a millisecond or more of start-up
 * (Node builds a tty, pipe or file stream, and for the first loads its stream, net and tty
 * modules). A non-blocking descriptor that is full (EAGAIN) hands the rest to `stream()`,
 * which waits for the reader; any other failure of write(2) is thrown.
 */
export function writeToDescriptor(fd: number, data: string | Uint8Array, stream: () => NodeJS.WritableStream): void {
  let rest = typeof data === 'string' ? Buffer.from(data) : data
  try {
    while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest))
  } catch (error) {
    if (errnoCode(error) !== 'EAGAIN') throw error
    stream().write(rest)
  }
}

/** The fast path's output, to fd 1 itself: nothing else there uses process.stdout. */
function writeDirect(data: string | Uint8Array, json: boolean): void {
  try {
    writeToDescriptor(1, data, () => {
      guardOutput(() => json)
      quietOnBrokenPipe()
      return process.stdout
    })
  } catch (error) {
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    if (errnoCode(error) === 'EPIPE') process.exit(process.exitCode ?? 0)
    outputFailed(error, json)
  }
}

/** A fast command's output: `stdout` normally, `json` under --json (nothing when undefined). */
export function emit(output: {json?: unknown; stdout: string | Uint8Array}, json: boolean): void {
  if (!json) writeDirect(output.stdout, json)
  else if (output.json !== undefined) writeDirect(JSON.stringify(output.json, null, 2) + '\n', json)
}

/**
 * Once everything written to `stream` is out. Not 'drain': a tail under the high-water mark
 * that waits for a full pipe sets no writableNeedDrain, and keyflow's exit would cut it off.
 * An empty write's callback comes once everything written before it is out (or it failed);
 * with nothing queued there is no write at all: an empty one to a full disk fails.
 */
export async function drained(stream: Writable): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('error', done).off('close', done)
      resolve()
    }

    stream.on('error', done).on('close', done)
    stream.write(Buffer.alloc(0), done)
  })
}
