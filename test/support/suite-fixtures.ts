/* eslint-disable mocha/no-sibling-hooks, mocha/no-top-level-hooks -- each function registers hooks in the describe that calls it */
import {after, afterEach, before, beforeEach} from 'mocha'

import {canary} from './canary.js'
import {tempDir} from './cli.js'
import {CountingProxy, startCountingProxy} from './counting-proxy.mjs'
import {FaultProxy, startFaultProxy} from './fault-proxy.js'
import {Moto, motoClient, requireMoto, startMoto} from './moto.js'

/**
 * Mocha hooks for the fixtures integration files repeat, registered in the calling `describe`:
 * moto started once for the file (it takes seconds to start, a reset milliseconds), a proxy in
 * front of it, each reset before every test and stopped after the file; a private directory
 * per test. Each function returns a handle that stands for the running fixture, so a suite
 * writes `const moto = motoPerFile()` and uses `moto.env`, `moto.url` in its tests.
 */

/** An object that forwards every property to what `current()` returns when it is read. */
function standIn<T extends object>(what: string, current: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_, key) {
      const target = current()
      if (!target) throw new Error(`${what} is only usable inside a test or hook of its suite`)
      const value = Reflect.get(target, key)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * moto for the file (skipped, or failed under CI, without python3's moto: requireMoto).
 * `resetEachTest: false` keeps state across tests, for suites whose tests use names of their own.
 */
export function motoPerFile(options: {env?: Record<string, string>; resetEachTest?: boolean} = {}): Moto {
  let moto: Moto | undefined
  before(async function () {
    requireMoto(this)
    moto = await startMoto({env: options.env})
  })
  after(async () => moto?.stop())
  if (options.resetEachTest ?? true) {
    beforeEach(async () => moto?.reset())
  }

  return standIn('moto', () => moto)
}

/** A Secrets Manager client of `moto` for seeding it, made once for the file. */
export function motoClientPerFile(moto: Moto): Awaited<ReturnType<typeof motoClient>> {
  let client: Awaited<ReturnType<typeof motoClient>> | undefined
  before(async () => {
    client = await motoClient(moto)
  })
  return standIn('the moto client', () => client)
}

/** The fault proxy in front of `moto` for the file, its rules and counts reset before every test. */
export function faultProxyPerFile(moto: Moto, options: {env?: Record<string, string>} = {}): FaultProxy {
  let proxy: FaultProxy | undefined
  before(async () => {
    proxy = await startFaultProxy(moto.url, {...moto.env, ...options.env})
  })
  after(async () => proxy?.stop())
  beforeEach(() => proxy?.reset())
  return standIn('the fault proxy', () => proxy)
}

/** The counting proxy in front of `moto` for the file, its counts reset before every test. */
export function countingProxyPerFile(moto: Moto): CountingProxy {
  let proxy: CountingProxy | undefined
  before(async () => {
    proxy = await startCountingProxy(moto.url)
  })
  after(async () => proxy?.stop())
  beforeEach(() => proxy?.reset())
  return standIn('the counting proxy', () => proxy)
}

/** A private temporary directory for every test, removed after it. */
export function tempDirPerTest(): ReturnType<typeof tempDir> {
  let dir: ReturnType<typeof tempDir> | undefined
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => dir?.cleanup())
  return standIn('the test directory', () => dir)
}

/**
 * The canary values of the current test: `secretValue(label)` makes one and records it;
 * `canaries` (emptied before every test) is what assertNoCanary searches for.
 */
export function canariesPerTest(): {canaries: string[]; secretValue: (label: string) => string} {
  const canaries: string[] = []
  beforeEach(() => {
    canaries.length = 0
  })
  return {
    canaries,
    secretValue(label) {
      const value = canary(label)
      canaries.push(value)
      return value
    },
  }
}
