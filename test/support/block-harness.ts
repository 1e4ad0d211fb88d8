import {afterEach, beforeEach} from 'mocha'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, assertNoCanaryInTree} from './canary.js'
import {baseEnv, CliResult, runCli, tempDir} from './cli.js'

/**
 * A private keyflow home per suite, and `kf` to run the built CLI in it. Every run's stderr,
 * and its stdout unless it is a --reveal, is checked for the suite's canary secrets.
 */

export interface Harness {
  canaries: string[]
  cleanup(): void
  env(extra?: Record<string, string | undefined>): Record<string, string | undefined>
  home: string
  kf(args: string[], options?: {cwd?: string; env?: Record<string, string | undefined>; input?: string; reveal?: boolean}): Promise<CliResult>
  store: string
}

export function harness(): Harness {
  const dir = tempDir()
  const home = join(dir.path, '.keyflow')
  const canaries: string[] = []
  const env = (extra: Record<string, string | undefined> = {}) => ({...baseEnv(dir.path), ...extra})
  return {
    canaries,
    cleanup: () => dir.cleanup(),
    env,
    home,
    async kf(args, options = {}) {
      const result = await runCli(args, {cwd: options.cwd ?? dir.path, env: env(options.env), input: options.input})
      assertNoCanary(result.stderr, canaries, `stderr of keyflow ${args.slice(0, 2).join(' ')}`)
      if (!options.reveal) assertNoCanary(result.stdout, canaries, `stdout of keyflow ${args.slice(0, 2).join(' ')}`)
      return result
    },
    store: join(home, 'blocks'),
  }
}


/**
 * A fresh harness for every test of the enclosing suite; after each test, no file under the
 * keyflow home may hold a canary in clear text (the store holds ciphertext only, even in the
 * temporary file a killed write leaves), then the home is removed. The returned harness stands
 * for the current test's.
 */
export function harnessPerTest(): Harness {
  let h: Harness | undefined
  beforeEach(() => {
    h = harness()
  })
  afterEach(() => {
    if (h && existsSync(h.home)) assertNoCanaryInTree(h.home, h.canaries)
    h?.cleanup()
  })
  const current = () => {
    if (!h) throw new Error('harnessPerTest() is only usable inside a test')
    return h
  }

  return {
    get canaries() {
      return current().canaries
    },
    cleanup: () => current().cleanup(),
    env: (extra) => current().env(extra),
    get home() {
      return current().home
    },
    kf: (args, options) => current().kf(args, options),
    get store() {
      return current().store
    },
  }
}
