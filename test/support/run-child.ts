import {ChildProcess, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, ROOT} from './cli.js'

export const FIXTURES = join(ROOT, 'test', 'run', 'fixtures')
export const fixture = (name: string) => join(FIXTURES, name)
export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')

export interface Report {
  digests: Record<string, null | string>
  names: string[]
  tty: {stderr: boolean; stdin: boolean; stdout: boolean}
}

/** The JSON line report.mjs printed. */
export function parseReport(stdout: string): Report {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('{"digests"'))
  if (!line) throw new Error('no report in the output')
  return JSON.parse(line) as Report
}

export interface Running {
  child: ChildProcess
  exited: Promise<{code: null | number; signal: NodeJS.Signals | null}>
  stderr(): string
  stdout(): string
  /** Resolves with the first match of `pattern` in stdout; rejects if keyflow exits first or after 20 s. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>
}

/**
 * keyflow run as a long-lived process, for signal tests. Detached: its own session and
 * process group, so no terminal delivers signals to it and the test can kill the whole group.
 */
export function startKeyflow(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [BIN, ...args], {detached: true, env, stdio: ['pipe', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout!.on('data', (chunk) => {
    out += chunk
  })
  child.stderr!.on('data', (chunk) => {
    err += chunk
  })
  const exited = new Promise<{code: null | number; signal: NodeJS.Signals | null}>((resolve) => {
    child.on('close', (code, signal) => resolve({code, signal}))
  })
  return {
    child,
    exited,
    stderr: () => err,
    stdout: () => out,
    async waitFor(pattern) {
      const deadline = Date.now() + 20_000
      for (;;) {
        const match = out.match(pattern)
        if (match) return match
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`keyflow exited before printing ${pattern}: ${err}`)
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}`)
        // eslint-disable-next-line no-await-in-loop
        await new Promise((resolve) => {
          setTimeout(resolve, 20)
        })
      }
    },
  }
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return false
  try {
    const text = readFileSync(stat, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 20)
    })
  }
}
