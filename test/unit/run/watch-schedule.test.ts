import {expect} from 'chai'
import {describe, it} from 'mocha'

import type {SecretsManagerApi} from '../../../src/lib/aws/secrets-manager.js'

import {pollForChanges, WatchClock, WatchedVersion} from '../../../src/lib/run/watch.js'

const INTERVAL = 5000
const START = 1_000_000

/**
 * A clock whose timers all fire `lateMs` late, as Node's do on a busy machine, and an AWS whose
 * ListSecrets takes `roundTripMs` (of that clock) and reports a new version from poll number
 * `rotatedAt` on. Returns when each poll asked AWS.
 */
async function watch({lateMs, rotatedAt, roundTripMs}: {lateMs: number; rotatedAt: number; roundTripMs: (poll: number) => number}) {
  let now = START
  const asked: number[] = []
  const clock: WatchClock = {
    now: () => now,
    async pause(ms) {
      now += ms + lateMs
    },
  }
  const api = {
    async versionStages(names: string[]) {
      asked.push(now - START)
      now += roundTripMs(asked.length)
      return new Map(names.map((name) => [name, {[asked.length >= rotatedAt ? 'v2' : 'v1']: ['AWSCURRENT']}]))
    },
  } as unknown as SecretsManagerApi
  const watched = new Map<string, WatchedVersion>([['db', {name: 'team/db', stage: 'AWSCURRENT', versionId: 'v1'}]])
  const changed = await pollForChanges({clock, connect: async () => api, intervalMs: INTERVAL, stopped: () => false, watched})
  return {asked, changed}
}

/** run --watch's schedule (src/lib/run/watch.ts pollForChanges), on an injected clock: no real time passes. */
describe('run --watch: when the polls are made', () => {
  it('every interval from the start, start to start: neither late timers nor the round trips add up', async () => {
    const {asked, changed} = await watch({lateMs: 7, rotatedAt: 5, roundTripMs: () => 60})
    expect(changed).to.deep.equal(['team/db'])
    expect(asked).to.deep.equal([1, 2, 3, 4, 5].map((poll) => poll * INTERVAL + 7))
  })

  it('a poll slower than the interval skips the slot it overran, with no burst of calls after it', async () => {
    const {asked} = await watch({lateMs: 0, rotatedAt: 4, roundTripMs: (poll) => (poll === 1 ? 1.5 * INTERVAL : 60)})
    expect(asked).to.deep.equal([1, 3, 4, 5].map((slot) => slot * INTERVAL))
  })
})
