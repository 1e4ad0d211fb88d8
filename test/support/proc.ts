import {ChildProcess} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'

/** Reading other processes through Linux's /proc: argv, environment, parent, resource limits. */

/** The file's bytes, or undefined once the process is gone (or not ours to read). */
export function procFile(pid: number, name: 'cmdline' | 'environ' | 'limits' | 'stat'): Buffer | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`)
  } catch {
    return undefined
  }
}

export function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
}

function parentOf(pid: number): number | undefined {
  const stat = procFile(pid, 'stat')?.toString('latin1')
  // The command name in parentheses may hold spaces; the fields after it are: state ppid ...
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/** Every process below `root`, by walking the ppid field of /proc/PID/stat. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const pid of pids()) {
    const parent = parentOf(pid)
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid])
  }

  const found: number[] = []
  const queue = [...(children.get(root) ?? [])]
  while (queue.length > 0) {
    const pid = queue.shift()!
    found.push(pid)
    queue.push(...(children.get(pid) ?? []))
  }

  return found
}

export function childrenOf(root: number): number[] {
  return pids().filter((pid) => parentOf(pid) === root)
}

/** "Max core file size" of a process, soft and hard, in bytes (Infinity for unlimited). */
export function coreLimit(pid: 'self' | number): undefined | {hard: number; soft: number} {
  const text = pid === 'self' ? readFileSync('/proc/self/limits', 'latin1') : procFile(pid, 'limits')?.toString('latin1')
  const line = text?.split('\n').find((candidate) => candidate.startsWith('Max core file size'))
  if (!line) return undefined
  const [soft, hard] = line
    .slice('Max core file size'.length)
    .trim()
    .split(/\s+/)
    .map((value) => (value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value)))
  return {hard, soft}
}

export interface Snapshot {
  cmdline: Buffer
  environ: Buffer
  limits?: {hard: number; soft: number}
  pid: number
}

/** argv, environment and core limit of `root` and everything below it, as they are now. */
export function snapshotTree(root: number): Snapshot[] {
  const snapshots: Snapshot[] = []
  for (const pid of [root, ...descendants(root)]) {
    const cmdline = procFile(pid, 'cmdline')
    const environ = procFile(pid, 'environ')
    if (cmdline && environ) snapshots.push({cmdline, environ, limits: coreLimit(pid), pid})
  }

  return snapshots
}

/**
 * Snapshots a process tree every 10 ms until the root exits: for commands that run briefly
 * (a slow AWS answer, a query), so their argv and environment are seen while secrets are in
 * memory. Resolves with every snapshot taken of the root and its descendants.
 */
export async function watchTree(child: ChildProcess): Promise<Snapshot[]> {
  const snapshots: Snapshot[] = []
  while (child.exitCode === null && child.signalCode === null) {
    snapshots.push(...snapshotTree(child.pid!))
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 10)
    })
  }

  return snapshots
}
