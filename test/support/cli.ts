import {spawn} from 'node:child_process'
import {chmodSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/**
 * Runs the built CLI (bin/run.js over dist/) as a user would: a real child process with its
 * own environment. Tests that need the CLI call `npm run build` first (the root hook does).
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')
/** Runs the CLI through oclif alone, skipping bin/run.js's fast path (see oclif-entry.mjs). */
export const OCLIF_ENTRY = join(ROOT, 'test', 'support', 'oclif-entry.mjs')

export interface CliResult {
  code: null | number
  signal: NodeJS.Signals | null
  stderr: string
  stdout: string
  stdoutBytes: Buffer
}

export interface CliOptions {
  cwd?: string
  /** The child's whole environment: nothing is inherited but PATH and what is given. */
  env?: Record<string, string | undefined>
  input?: string | Uint8Array
  /** A script to run instead of bin/run.js, e.g. OCLIF_ENTRY to skip the fast path. */
  script?: string
  timeoutMs?: number
}

/** A minimal base environment so tests never depend on the developer's own AWS or keyflow setup. */
export function baseEnv(home: string): Record<string, string> {
  return {
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    HOME: home,
    KEYFLOW_HOME: join(home, '.keyflow'),
    KEYFLOW_PROJECT_FILE: '',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  }
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    // `--`: Node 20 would otherwise check an `--env-file` among the arguments itself (see bin/run.js).
    const child = spawn(process.execPath, ['--', options.script ?? BIN, ...args], {
      cwd: options.cwd,
      env: (options.env ?? {PATH: process.env.PATH}) as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stdoutBytes = Buffer.concat(out)
      resolvePromise({code, signal, stderr: Buffer.concat(err).toString('utf8'), stdout: stdoutBytes.toString('utf8'), stdoutBytes})
    })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}

/** A private temporary directory (0700), removed by the returned cleanup. */
export function tempDir(prefix = 'keyflow-test-'): {cleanup: () => void; path: string} {
  const path = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(path, 0o700)
  return {cleanup: () => rmSync(path, {force: true, recursive: true}), path}
}
