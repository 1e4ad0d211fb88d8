import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {harness, Harness} from '../support/block-harness.js'
import {assertNoCanaryInTree, canary} from '../support/canary.js'
import {CliResult} from '../support/cli.js'
import {openAll} from '../support/open-store.js'

/**
 * 50 keyflow processes at once registering types and creating and deleting documents: each
 * gets success or a clear error (CONFLICT, or NOT_FOUND for what another process deleted),
 * and the final store is what the successful operations say it must be.
 */

interface Outcome {
  checksum: string
  schemaNumber: number
  slug: string
  status: string
}

const definition = (fields: string[], description: string) => ({
  description,
  fields: {properties: Object.fromEntries(fields.map((field) => [field, {type: 'string'}])), type: 'object'},
  name: 'Concurrent',
  slug: 'conc',
})
const stable = {fields: {properties: {x: {type: 'integer'}}}, name: 'Stable', slug: 'stable'}

/** The error a failed --json run printed, checked to be a clear one: JSON on stderr, no stack trace. */
function clearError(result: CliResult): {code: string; exit: number} {
  expect(result.stderr).to.not.match(/\n\s+at /)
  const {error} = JSON.parse(result.stderr)
  expect(error.exit).to.equal(result.code)
  expect(error.message).to.be.a('string')
  return error
}

describe('concurrency: 50 processes registering types, creating and deleting documents', () => {
  let h: Harness

  beforeEach(() => {
    h = harness()
  })

  afterEach(() => {
    assertNoCanaryInTree(h.home, h.canaries)
    h.cleanup()
  })

  it('every process succeeds or fails clearly, and the final state matches the successes', async () => {
    const files = [
      [definition(['a'], 'v1'), stable],
      [definition(['a', 'b'], 'v2'), stable],
    ].map((definitions, index) => {
      const file = join(h.home, '..', `types-${index}.json`)
      writeFileSync(file, JSON.stringify(definitions))
      return file
    })
    expect((await h.kf(['block', 'register', '-f', files[0]])).code).to.equal(0)
    for (const name of ['keep', 'del0', 'del1', 'del2', 'del3', 'del4']) {
      // eslint-disable-next-line no-await-in-loop
      expect((await h.kf(['block', 'create', 'secret', name, '--stdin-field', 'value'], {input: `v-${name}`})).code).to.equal(0)
    }

    const shared = Array.from({length: 10}, (_, index) => canary(`shared${index}`))
    h.canaries.push(...shared)
    const registers = Array.from({length: 20}, (_, index) => h.kf(['block', 'register', '-f', files[index % 2], '--json']))
    const sharedCreates = shared.map((secret) => h.kf(['block', 'create', 'secret', 'shared', '--stdin-field', 'value', '--json'], {input: secret}))
    const concCreates = Array.from({length: 10}, (_, index) => h.kf(['block', 'create', 'conc', `c${index}`, '--field', `a=x${index}`, '--json']))
    const deletes = Array.from({length: 10}, (_, index) => h.kf(['block', 'delete', `secret/del${index % 5}`, '--yes', '--json']))
    const [registered, sharedResults, concResults, deleted] = await Promise.all([registers, sharedCreates, concCreates, deletes].map((runs) => Promise.all(runs)))

    // Types: a retry loop absorbs the compare-and-swap conflicts, or a clear CONFLICT is reported.
    const outcomes: Outcome[] = []
    for (const result of registered) {
      if (result.code === 0) outcomes.push(...(JSON.parse(result.stdout).types as Outcome[]))
      else expect(clearError(result).exit).to.equal(7)
    }

    expect(outcomes.length).to.be.greaterThan(0)
    const inspected = JSON.parse((await h.kf(['block', 'type', 'inspect', 'conc', '--json'])).stdout)
    const history = inspected.schemas as Array<{checksum: string; schemaNumber: number}>
    // Schema numbers count up without gaps or repeats: no write overwrote another unseen.
    expect(history.map((entry) => entry.schemaNumber)).to.deep.equal(history.map((_, index) => index + 1))
    expect(inspected.checksum).to.equal(history.at(-1)!.checksum)
    for (const outcome of outcomes.filter((item) => item.slug === 'conc' && item.status !== 'unchanged')) {
      expect(history.some((entry) => entry.schemaNumber === outcome.schemaNumber && entry.checksum === outcome.checksum)).to.equal(true)
    }

    for (const outcome of outcomes.filter((item) => item.slug === 'stable')) expect(outcome.status).to.equal('unchanged')

    // One name, ten creators: exactly one wins, the others are told it already exists.
    const winners = sharedResults.flatMap((result, index) => (result.code === 0 ? [index] : []))
    expect(winners).to.have.length(1)
    for (const result of sharedResults.filter((item) => item.code !== 0)) expect(clearError(result)).to.include({code: 'ALREADY_EXISTS', exit: 7})
    for (const result of concResults) expect(result.code, result.stderr).to.equal(0)
    // Two deleters per document: one deletes it, the other finds it gone or changed.
    for (let index = 0; index < 5; index++) {
      const pair = [deleted[index], deleted[index + 5]]
      expect(pair.filter((result) => result.code === 0)).to.have.length(1)
      for (const result of pair.filter((item) => item.code !== 0)) expect([3, 7]).to.include(clearError(result).exit)
    }

    const documents = await openAll(h)
    expect([...documents.keys()].sort()).to.deep.equal([...Array.from({length: 10}, (_, index) => `conc/c${index}`), 'secret/keep', 'secret/shared'].sort())
    expect(documents.get('secret/shared')?.value === shared[winners[0]]).to.equal(true)
    expect(documents.get('secret/keep')?.value).to.equal('v-keep')
    for (let index = 0; index < 10; index++) expect(documents.get(`conc/c${index}`)?.a).to.equal(`x${index}`)
    const leftovers = [readdirSync(h.store), readdirSync(join(h.store, 'documents', 'secret')), readdirSync(join(h.store, 'types'))].flat()
    expect(leftovers.filter((name) => name.startsWith('.'))).to.deep.equal([])
  })
})
