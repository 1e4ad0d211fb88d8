import {writeSync} from 'node:fs'

import {errnoCode} from '../errors.js'

/**
 * The one way a command's result reaches stdout, for oclif's path (BaseCommand) and the fast
 * path alike: the data as it is, or under --json one JSON document (plain, the same bytes on a
 * terminal or a pipe). A reader that went away (`| head -c1`) is not an error: keyflow exits
 * quietly with the code it already has.
 */

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
function writeDirect(data: string | Uint8Array): void {
  let rest = typeof data === 'string' ? Buffer.from(data) : data
  try {
    while (rest.length > 0) rest = rest.subarray(writeSync(1, rest))
  } catch (error) {
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    if (errnoCode(error) === 'EPIPE') process.exit(process.exitCode ?? 0)
    if (errnoCode(error) !== 'EAGAIN') throw error
    writeData(rest)
  }
}

/** A fast command's output: `stdout` normally, `json` under --json (nothing when undefined). */
export function emit(output: {json?: unknown; stdout: string | Uint8Array}, json: boolean): void {
  if (!json) writeDirect(output.stdout)
  else if (output.json !== undefined) writeDirect(JSON.stringify(output.json, null, 2) + '\n')
}
