import {randomBytes} from 'node:crypto'
import {linkSync, readFileSync, renameSync, unlinkSync} from 'node:fs'
import {link, unlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'

import {errnoCode, ExitCode, KeyflowError} from '../../errors.js'

/**
 * A lock file taken with O_EXCL, held only for the few milliseconds of a compare-and-swap.
 * A lock left by a process that died (same host, pid gone) is broken; anything else is waited
 * for, up to `timeoutMs`, then reported as a CONFLICT naming the holder.
 */

const STALE_OTHER_HOST_MS = 120_000

interface Holder {
  host: string
  pid: number
  since: number
}

function readHolder(path: string): Holder | undefined {
  try {
    const [pid, host, since] = readFileSync(path, 'utf8').trim().split(' ')
    return {host, pid: Number(pid), since: Number(since)}
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

function isStale(holder: Holder): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0 || !Number.isFinite(holder.since)) return false
  return holder.host === hostname() ? !alive(holder.pid) : Date.now() - holder.since > STALE_OTHER_HOST_MS
}

/**
 * Moves a stale lock aside. If, between reading it and moving it, another process replaced it
 * with a live lock, that lock is put back (link fails if yet another one appeared meanwhile,
 * which is then that process's lock).
 */
function breakStale(path: string, judged: Holder): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch {
    return
  }

  const moved = readHolder(aside)
  if (moved && (moved.pid !== judged.pid || moved.since !== judged.since)) {
    try {
      linkSync(aside, path)
    } catch {}
  }

  try {
    unlinkSync(aside)
  } catch {}
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
async function tryAcquire(path: string): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
  await writeFile(temporary, `${process.pid} ${hostname()} ${Date.now()}\n`, {flag: 'wx', mode: 0o600})
  try {
    await link(temporary, path)
    return true
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error
    return false
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

export async function withLock<T>(path: string, what: string, task: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 0; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    if (await tryAcquire(path)) break
    const holder = readHolder(path)
    if (holder && isStale(holder)) {
      breakStale(path, holder)
      continue
    }

    if (Date.now() > deadline) {
      throw new KeyflowError(`The ${what} is locked by another keyflow process${holder ? ` (pid ${holder.pid} on ${holder.host})` : ''}.`, {
        code: 'STORE_LOCKED',
        exit: ExitCode.CONFLICT,
        fix: `Try again when it finishes. If no keyflow process is running, remove the lock file.`,
        where: path,
      })
    }

    // Jittered backoff, so that many waiting processes do not retry in step.
    // eslint-disable-next-line no-await-in-loop
    await pause(Math.min(50, 2 + attempt) * (0.5 + Math.random()))
  }

  try {
    return await task()
  } finally {
    await unlink(path).catch(() => {})
  }
}
