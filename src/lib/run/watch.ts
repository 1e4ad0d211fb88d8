import type {SecretsManagerApi} from '../aws/secrets-manager.js'

import {arnRegion} from '../aws/arn.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {warn} from '../output/warn.js'
import {duration, formatDuration} from '../settings/spec.js'
import {builtin} from '../util/builtin.js'
import {Injection, Plan} from './plan.js'
import {ChildExit} from './supervise.js'

/**
 * `keyflow run --watch` (docs/run.md "Watching for rotations"): while the command runs, poll
 * the versions of the AWS secrets it was given, and when one moves, resolve again and restart
 * the command with the new environment (or, with --watch-reload, only signal it). Kept apart
 * from the supervisor: all it needs of a child is `signal` and `exited`.
 */

export const DEFAULT_WATCH_INTERVAL = '60s'

export interface WatchOptions {
  graceMs: number
  intervalMs: number
  reload: boolean
  signal: NodeJS.Signals
}

export interface WatchFlags {
  watch?: string
  'watch-grace'?: string
  'watch-reload'?: boolean
  'watch-signal'?: string
}

/** The running command, as the watcher sees it. */
export interface ChildControl {
  exited: Promise<ChildExit>
  signal(name: NodeJS.Signals): void
}

function usage(message: string, where: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'USAGE', exit: ExitCode.USAGE, fix, where})
}

/** The --watch flags, checked; undefined when not watching. node:os (for the signal names) loads only for --watch. */
export function watchOptions(flags: WatchFlags): undefined | WatchOptions {
  const dependent = (['watch-grace', 'watch-reload', 'watch-signal'] as const).find((name) => flags[name] !== undefined)
  if (flags.watch === undefined) {
    if (dependent) throw usage(`--${dependent} needs --watch.`, `flag --${dependent}`, 'Add --watch (or --watch=INTERVAL).')
    return undefined
  }

  const name = (flags['watch-signal'] ?? 'TERM').toUpperCase()
  const signal = (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals
  const {constants} = builtin<typeof import('node:os')>('node:os')
  if (!(signal in constants.signals) || signal === 'SIGKILL' || signal === 'SIGSTOP') {
    throw usage(`Unknown or uncatchable signal ${JSON.stringify(flags['watch-signal'])}.`, 'flag --watch-signal', 'Give a signal name such as TERM, INT, HUP, USR1.')
  }

  return {
    graceMs: duration(0, 3_600_000)(flags['watch-grace'] ?? '10s', 'flag --watch-grace'),
    intervalMs: duration(5000, 86_400_000)(flags.watch, 'flag --watch'),
    reload: flags['watch-reload'] === true,
    signal,
  }
}

/** Where a watched secret was read: its ARN's region and the role it was read as. */
export interface WatchPlacement {
  region?: string
  role?: string
}

export interface WatchedVersion extends WatchPlacement {
  name: string
  stage: string
  versionId: string
}

/** A client for the secrets read in one place (region, role). */
export type WatchConnect = (placement: WatchPlacement) => Promise<SecretsManagerApi>

/** The AWS secrets a plan injected, each once per place it was read, with the version each stage pointed at. */
export function watchedVersions(injections: Injection[]): Map<string, WatchedVersion> {
  const watched = new Map<string, WatchedVersion>()
  for (const {provenance} of injections) {
    const {arn, name, role, source, versionId, versionStages} = (provenance ?? {}) as {arn?: string; name?: string; role?: string; source?: string; versionId?: string; versionStages?: string[]}
    if (source !== 'aws' || !name || !versionId || !versionStages?.length) continue
    const region = arn ? arnRegion(arn) : undefined
    watched.set(JSON.stringify([region ?? null, role ?? null, name]), {name, region, role, stage: versionStages.includes('AWSCURRENT') ? 'AWSCURRENT' : versionStages[0], versionId})
  }

  return watched
}

/** The version each watched stage points at now: one ListSecrets per 10 names, in each place they were read. */
async function currentVersions(connect: WatchConnect, watched: Map<string, WatchedVersion>): Promise<Map<string, string | undefined>> {
  const places = new Map<string, Array<[string, WatchedVersion]>>()
  for (const entry of watched) {
    const place = JSON.stringify([entry[1].region ?? null, entry[1].role ?? null])
    places.set(place, [...(places.get(place) ?? []), entry])
  }

  const answers = await Promise.all([...places.values()].map(async (entries) => {
    const [, {region, role}] = entries[0]
    const stages = await (await connect({region, role})).versionStages(entries.map(([, {name}]) => name))
    return entries.map(([key, {name, stage}]) => [key, Object.entries(stages.get(name) ?? {}).find(([, labels]) => labels.includes(stage))?.[0]] as const)
  }))
  return new Map(answers.flat())
}

const pause = (ms: number, timers: Set<NodeJS.Timeout>) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      resolve()
    }, ms)
    timers.add(timer)
  })

/** The time the polls are scheduled by: Node's in a run, a test's in a unit test. */
export interface WatchClock {
  now(): number
  pause(ms: number): Promise<void>
}

export interface Poll {
  clock: WatchClock
  connect: WatchConnect
  intervalMs: number
  stopped: () => boolean
  watched: Map<string, WatchedVersion>
}

/**
 * Polls every `intervalMs` (one ListSecrets call per 10 names) until a watched stage points at
 * another version; resolves to the names that moved. A failed poll is retried with backoff
 * (1 s, doubling, up to the interval) and never ends the watch.
 *
 * The polls keep to the grid of the watch's start (start + k x interval), measured start to
 * start, as a user of any periodic watcher expects: neither a poll's round trip nor a timer that
 * fires late moves the ones after it (scheduling each from the moment its timer fired would add
 * every timer's lateness to all later polls), and a slot a slow poll overran is skipped, not made
 * up by a burst of calls to a service that is slow already.
 */
export function pollForChanges({clock, connect, intervalMs, stopped, watched}: Poll): Promise<string[]> {
  /** The first slot of the grid `due` is on that is later than `now` (`due` itself when still ahead). */
  const slotAfter = (due: number, now: number) => due + intervalMs * Math.max(0, Math.floor((now - due) / intervalMs) + 1)
  return (async () => {
    let failures = 0
    let due = clock.now() + intervalMs
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      await clock.pause(Math.max(0, failures === 0 ? due - clock.now() : Math.min(intervalMs, 1000 * 2 ** (failures - 1))))
      if (stopped()) return []
      try {
        // eslint-disable-next-line no-await-in-loop
        const now = await currentVersions(connect, watched)
        failures = 0
        const moved = [...watched].filter(([key, {versionId}]) => now.get(key) !== undefined && now.get(key) !== versionId)
        if (moved.length > 0) return [...new Set(moved.map(([, {name}]) => name))]
      } catch (error) {
        failures++
        const reason = error instanceof KeyflowError ? error.code : ((error as {name?: string}).name ?? 'error')
        const next = Math.min(intervalMs, 1000 * 2 ** (failures - 1))
        warn(`--watch: polling AWS for new versions failed (${reason}); retrying in ${formatDuration(next)}. The command keeps running.`)
      }

      due = slotAfter(due, clock.now())
    }
  })()
}

export interface WatchRun {
  /** The running command is about to be asked to reload: mask the plan's values too, from now on. */
  reload(plan: Plan): void
  /** Resolves the plan again after `changed` moved in AWS. */
  reresolve(changed: string[]): Promise<Plan>
  /** Starts the command with a plan's environment; masking covers every plan seen so far. */
  start(plan: Plan): ChildControl
}

/** Runs the command under --watch; resolves to the last child's exit. */
export async function watchAndRestart(first: Plan, run: WatchRun, connect: WatchConnect, options: WatchOptions): Promise<ChildExit> {
  let plan = first
  let child = run.start(plan)
  let watched = watchedVersions(plan.injections)
  if (watched.size === 0) warn('--watch: the command was given no AWS secret to watch; it runs as without --watch.')
  const timers = new Set<NodeJS.Timeout>()
  // A monotonic clock: a wall clock stepped back would hold the next poll for as long as the step.
  const clock: WatchClock = {now: () => performance.now(), pause: (ms) => pause(ms, timers)}
  let stopped = false
  try {
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const event = await Promise.race([
        child.exited.then((exit) => ({exit})),
        ...(watched.size > 0 ? [pollForChanges({clock, connect, intervalMs: options.intervalMs, stopped: () => stopped, watched}).then((changed) => ({changed}))] : []),
      ])
      if ('exit' in event) return event.exit
      const names = event.changed.map((name) => JSON.stringify(name)).join(', ')
      warn(`--watch: ${names} changed in AWS; resolving again.`)
      let next: Plan
      try {
        // eslint-disable-next-line no-await-in-loop
        next = await run.reresolve(event.changed)
      } catch (error) {
        warn(`--watch: ${names} could not be resolved again (${error instanceof KeyflowError ? error.message : 'unexpected error'}); the command keeps running with the values it has.`)
        // eslint-disable-next-line no-await-in-loop
        watched = await refreshed(connect, watched)
        continue
      }

      plan = next
      watched = watchedVersions(plan.injections)
      if (options.reload) {
        run.reload(plan)
        warn(`--watch: sending ${options.signal} to the command (--watch-reload).`)
        child.signal(options.signal)
        continue
      }

      warn(`--watch: restarting the command with the new values (${options.signal}, then SIGKILL after ${formatDuration(options.graceMs)}).`)
      child.signal(options.signal)
      const current = child
      // eslint-disable-next-line no-await-in-loop
      const ended = await Promise.race([current.exited.then(() => true), pause(options.graceMs, timers).then(() => false)])
      if (!ended) current.signal('SIGKILL')
      // eslint-disable-next-line no-await-in-loop
      await current.exited
      child = run.start(plan)
    }
  } finally {
    stopped = true
    for (const timer of timers) clearTimeout(timer)
  }
}

/** The versions AWS reports now, so a change that could not be applied is not reported every interval. */
async function refreshed(connect: WatchConnect, watched: Map<string, WatchedVersion>): Promise<Map<string, WatchedVersion>> {
  try {
    const now = await currentVersions(connect, watched)
    return new Map([...watched].map(([key, version]) => [key, {...version, versionId: now.get(key) ?? version.versionId}]))
  } catch {
    return watched
  }
}
