import type {Writable} from 'node:stream'

import {setTimeout as sleep} from 'node:timers/promises'

import type {CancelRequest} from './connector.js'

import {ExitCode, ExitCodeValue, KeyflowError} from '../errors.js'
import {drained, exitWithError} from '../output/emit.js'

/**
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP during `keyflow sql`, as snowflake-connector-python and
 * snowsql treat them: the statement running on Snowflake is cancelled first, so it does not
 * go on using the warehouse after keyflow is gone. The first signal asks Snowflake to cancel
 * and waits for its answer at most CANCEL_WAIT_MS (a hung or unreachable Snowflake must not
 * hold Ctrl-C up); a second one exits at once. Either way keyflow exits 128 + the first
 * signal's number with one line on stderr: what became of the statement, and how to cancel
 * it by hand when Snowflake did not confirm. Output already written stays as it is.
 */

const SIGNAL_EXIT = {SIGHUP: ExitCode.HANGUP, SIGINT: ExitCode.INTERRUPTED, SIGTERM: ExitCode.TERMINATED} as const satisfies Record<string, ExitCodeValue>
type Signal = keyof typeof SIGNAL_EXIT
const SIGNALS = Object.keys(SIGNAL_EXIT) as Signal[]

export const CANCEL_WAIT_MS = 5000

/** What Snowflake answered for one cancelled statement. */
export interface CancelledStatement {
  confirmed: boolean
  queryId?: string
}

/** A cancel under way: the statements it names (their query ids where known, [] if none was running), then Snowflake's answers. */
export interface Cancelling {
  answers: Promise<CancelledStatement[]>
  queryIds: Promise<Array<string | undefined>>
}

/** A connector's own cancel requests (connector.interrupt(), in this thread) as a Cancelling. */
export function cancellingOf(requests: CancelRequest[]): Cancelling {
  return {
    answers: Promise.all(requests.map(async (request) => ({confirmed: await request.confirmed, queryId: request.queryId}))),
    queryIds: Promise.resolve(requests.map((request) => request.queryId)),
  }
}

function manualCancel(queryIds: Array<string | undefined>): string {
  const known = queryIds.filter((id) => id !== undefined)
  if (known.length === 0 || known.length < queryIds.length) {
    return "find its query id in Snowsight's Query History (or INFORMATION_SCHEMA.QUERY_HISTORY()) and run SELECT SYSTEM$CANCEL_QUERY('<query id>')"
  }

  return `${known.map((id) => `SELECT SYSTEM$CANCEL_QUERY('${id}')`).join('; ')} cancels it`
}

function interruptedError(signal: Signal, message: string): KeyflowError {
  return new KeyflowError(message, {code: 'INTERRUPTED', exit: SIGNAL_EXIT[signal]})
}

/** The line for the first signal: `answers` undefined if Snowflake gave none in time. */
function outcome(signal: Signal, queryIds: Array<string | undefined> | undefined, answers?: CancelledStatement[]): KeyflowError {
  if (queryIds?.length === 0) return interruptedError(signal, `Interrupted (${signal}) while no statement was running on Snowflake: nothing to cancel.`)
  if (answers?.every((answer) => answer.confirmed)) {
    const ids = answers.map((answer) => answer.queryId).filter((id) => id !== undefined)
    return interruptedError(signal, `Interrupted (${signal}): Snowflake cancelled the statement${ids.length > 0 ? ` (query id ${ids.join(', ')})` : ''}.`)
  }

  const why = answers ? 'it answered with an error' : `no answer within ${CANCEL_WAIT_MS / 1000} s`
  const ids = answers?.map((answer) => answer.queryId) ?? queryIds ?? [undefined]
  return interruptedError(signal, `Interrupted (${signal}): Snowflake did not confirm the cancel (${why}); the statement may still be running: ${manualCancel(ids)}.`)
}

/** Signal handling for one `keyflow sql`, from its start until its statement's rows are all written. */
export class StatementInterrupts implements Disposable {
  private cancel?: () => Cancelling
  private readonly onSignal = (signal: Signal) => {
    const first = this.signal
    if (first) {
      exitWithError(interruptedError(first, `Interrupted again (${signal}) while Snowflake was asked to cancel the statement; it may still be running: ${manualCancel(this.queryIds ?? [undefined])}.`), this.json)
    }

    this.signal = signal
    if (!this.cancel) exitWithError(interruptedError(signal, `Interrupted (${signal}) before the statement was sent to Snowflake: nothing to cancel.`), this.json)
    this.cancelThenExit(signal, this.cancel).catch(() => {})
  }
  private queryIds?: Array<string | undefined>
  private signal?: Signal

  constructor(
    private readonly json: boolean,
    private readonly out: Writable,
  ) {
    for (const signal of SIGNALS) process.on(signal, this.onSignal)
  }

  /**
   * Runs `run` (a statement from its submission to its last row); a signal meanwhile cancels
   * it through `cancel` and ends keyflow, so `run`'s own outcome is never reported. Once `run`
   * is done a signal does what it does by default.
   */
  async cancelling<T>(cancel: () => Cancelling, run: () => Promise<T>): Promise<T> {
    this.cancel = cancel
    try {
      const result = await run()
      if (!this.signal) this[Symbol.dispose]()
      return this.signal ? await never<T>() : result
    } catch (error) {
      // The statement's failure is the cancel's doing: keyflow exits with the signal's line.
      if (this.signal) return never<T>()
      throw error
    }
  }

  [Symbol.dispose](): void {
    for (const signal of SIGNALS) process.off(signal, this.onSignal)
  }

  private async cancelThenExit(signal: Signal, cancel: () => Cancelling): Promise<never> {
    // Resolves with undefined: no answer in time.
    const deadline = sleep(CANCEL_WAIT_MS) as Promise<undefined>
    let answers: CancelledStatement[] | undefined
    try {
      const cancelling = cancel()
      this.queryIds = await Promise.race([cancelling.queryIds, deadline])
      if (this.queryIds?.length) answers = await Promise.race([cancelling.answers, deadline])
    } catch {}

    // Where stdout's writes are asynchronous (a pipe on macOS), what was written must not be cut off.
    await Promise.race([drained(this.out), deadline])
    exitWithError(outcome(signal, this.queryIds, answers), this.json)
  }
}

async function never<T>(): Promise<T> {
  return new Promise<T>(() => {})
}
