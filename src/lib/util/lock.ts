import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {link, readdir, unlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'

import {errnoCode, ExitCode, KeyflowError} from '../errors.js'

/**
 * A lock file taken with O_EXCL, held only for the few milliseconds of a compare-and-swap.
 * A lock left by a process that died (same host, pid gone) is broken; anything else is waited
 * for, up to `timeoutMs`, then reported as a CONFLICT naming the holder. Every lock carries a
 * random token, so that neither a breaker nor a holder ever removes a lock that is not the
 * one it means.
 */

const STALE_OTHER_HOST_MS = 120_000

interface Holder {
  host: string
  pid: number
  /** The lock file's whole content, which a breaker compares before removing it. */
  raw: string
  since: number
  token: string
}

function readHolder(path: string): Holder | undefined {
  try {
    const raw = readFileSync(path, 'utf8')
    const [pid, host, since, token = ''] = raw.trim().split(' ')
    return {host, pid: Number(pid), raw, since: Number(since), token}
  } catch {
    return undefined
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errnoCode(error) === 'EPERM'
  }
}

/**
 * `staleAfterMs`: for a lock held only around a task that is itself bounded (the cache's, around
 * one AWS call), an older lock is stale whoever holds it: its pid may have been reused by an
 * unrelated live process after a crash (containers reuse low pids), which would otherwise make
 * every later caller wait its whole timeout. The block store's locks have no such bound: a
 * holder stopped with Ctrl-Z mid-write must keep its lock.
 */
function isStale(holder: Holder, staleAfterMs?: number): boolean {
  // A lock appears whole (see tryAcquire), so one that does not parse (empty, say) is debris.
  if (!Number.isInteger(holder.pid) || holder.pid <= 0 || !Number.isFinite(holder.since)) return true
  const age = Date.now() - holder.since
  if (staleAfterMs !== undefined && age > staleAfterMs) return true
  return holder.host === hostname() ? !alive(holder.pid) : age > STALE_OTHER_HOST_MS
}

/**
 * Breaks a stale lock. Breakers take turns through a second lock file (PATH.break) and unlink
 * the lock only if it still holds the token judged stale: while it exists nobody can take the
 * lock, and its dead holder will not release it, so the path cannot change between that check
 * and the unlink, and a live lock is never removed. (Moving the lock aside and putting it back,
 * as before, could lose a live lock to a third process and leave two holders.)
 */
export async function breakStale(path: string, judged: Holder): Promise<void> {
  const breaker = `${path}.break`
  const token = await tryAcquire(breaker)
  if (!token) {
    // A breaker that died mid-break would otherwise block every later one.
    const other = readHolder(breaker)
    if (other && isStale(other)) await release(breaker, other.token)
    return
  }

  try {
    const current = readHolder(path)
    if (current && current.raw === judged.raw) {
      await unlink(path).catch(() => {})
    }
  } finally {
    await release(breaker, token)
  }
}

/** Removes the lock at `path` only if it is still the one holding `token`. */
async function release(path: string, token: string): Promise<void> {
  if (readHolder(path)?.token === token) await unlink(path).catch(() => {})
}

const pause = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

/**
 * The lock file appears complete or not at all: the holder line is written to a private
 * temporary file which is then hard-linked to the lock path (link fails if it exists), so
 * no process ever reads a half-written lock and mistakes it for a stale one.
 */
async function tryAcquire(path: string): Promise<string | undefined> {
  const token = randomBytes(8).toString('hex')
  const temporary = `${path}.${process.pid}.${token}`
  try {
    // A full disk fails after creating the file: the finally below removes it all the same.
    await writeFile(temporary, `${process.pid} ${hostname()} ${Date.now()} ${token}\n`, {flag: 'wx', mode: 0o600})
    await link(temporary, path)
    return token
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error
    return undefined
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

/**
 * Takes the lock at `path`, breaking a stale one (see isStale for `staleAfterMs`), waiting with
 * jittered backoff; resolves to the holder's token, or undefined when `timeoutMs` passed with
 * the lock still held.
 */
export async function acquireLock(path: string, timeoutMs: number, options: {staleAfterMs?: number} = {}): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 0; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const token = await tryAcquire(path)
    if (token) return token
    const holder = readHolder(path)
    if (holder && isStale(holder, options.staleAfterMs)) {
      // eslint-disable-next-line no-await-in-loop
      await breakStale(path, holder)
      continue
    }

    if (Date.now() > deadline) return undefined
    // Jittered backoff, so that many waiting processes do not retry in step.
    // eslint-disable-next-line no-await-in-loop
    await pause(Math.min(50, 2 + attempt) * (0.5 + Math.random()))
  }
}

export const releaseLock = release

export async function withLock<T>(path: string, what: string, task: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const token = await acquireLock(path, timeoutMs)
  if (!token) {
    const holder = readHolder(path)
    throw new KeyflowError(`The ${what} is locked by another keyflow process${holder ? ` (pid ${holder.pid} on ${holder.host})` : ''}.`, {
      code: 'STORE_LOCKED',
      exit: ExitCode.CONFLICT,
      fix: `Try again when it finishes. If no keyflow process is running, remove the lock file.`,
      where: path,
    })
  }

  try {
    await removeDeadTemporaries(path)
    return await task()
  } finally {
    await release(path, token)
  }
}

/**
 * Holder files of lock attempts whose process died between writing and removing them (a
 * kill): only their process ever removes them otherwise, so the next holder does.
 */
async function removeDeadTemporaries(path: string): Promise<void> {
  const pattern = new RegExp(String.raw`^${basename(path).replaceAll('.', String.raw`\.`)}(?:\.break)?\.(\d+)\.[\da-f]{16}$`)
  const names = await readdir(dirname(path)).catch(() => [])
  await Promise.all(
    names.map(async (name) => {
      const pid = pattern.exec(name)?.[1]
      if (pid !== undefined && !alive(Number(pid))) await unlink(join(dirname(path), name)).catch(() => {})
    }),
  )
}
