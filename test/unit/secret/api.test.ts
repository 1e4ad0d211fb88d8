import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {explainSecret, resolveSecret, resolveSecrets} from '../../../src/lib/library.js'
import {assertNoCanary, canary} from '../../support/canary.js'
import {tempDir} from '../../support/cli.js'

/** The library API (import {resolveSecret} from 'keyflow'), on local sources only: AWS is for the moto tests. */
describe('library API', () => {
  let dir: ReturnType<typeof tempDir>
  const fromEnv = canary('api-env')
  const fromFile = canary('api-file')
  let options: {cwd: string; env: NodeJS.ProcessEnv; settings: {sources: ['context', 'env', 'dotenv']}}

  before(() => {
    dir = tempDir()
    writeFileSync(join(dir.path, '.env'), `FILE_SECRET=${fromFile}\nJSON_SECRET='{"db":{"password":"${fromFile}"}}'\n`)
    options = {
      cwd: dir.path,
      env: {KEYFLOW_HOME: dir.path, KEYFLOW_PROJECT_FILE: '', TOKEN: fromEnv},
      settings: {sources: ['context', 'env', 'dotenv']},
    }
  })

  after(() => dir.cleanup())

  it('resolveSecret returns the value from the first source that has it', async () => {
    expect((await resolveSecret('TOKEN', options)) === fromEnv).to.equal(true)
    expect((await resolveSecret('FILE_SECRET', options)) === fromFile).to.equal(true)
    expect((await resolveSecret('JSON_SECRET#db.password', options)) === fromFile).to.equal(true)
  })

  it('local sources read the env given, not process.env', async () => {
    process.env.KEYFLOW_API_TEST_ONLY = 'x'
    try {
      const error = await resolveSecret('KEYFLOW_API_TEST_ONLY', options).catch((error_: unknown) => error_)
      expect(error).to.be.instanceOf(KeyflowError)
      expect((error as KeyflowError).exit).to.equal(ExitCode.NOT_FOUND)
    } finally {
      delete process.env.KEYFLOW_API_TEST_ONLY
    }
  })

  it('resolveSecrets resolves many, with provenance, or throws one error listing every failure', async () => {
    const resolved = await resolveSecrets(['TOKEN', 'FILE_SECRET'], options)
    expect(resolved.map(({provenance, reference}) => [reference, provenance.source])).to.deep.equal([
      ['TOKEN', 'env'],
      ['FILE_SECRET', 'dotenv'],
    ])
    const error = await resolveSecrets(['TOKEN', 'NOPE', 'FILE_SECRET#x'], options).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(KeyflowError)
    const failure = error as KeyflowError
    expect(failure.exit).to.equal(ExitCode.BAD_VALUE)
    expect(failure.message).to.equal('2 of 3 secrets could not be resolved.')
    assertNoCanary(JSON.stringify(failure.toJSON()), [fromEnv, fromFile], 'the error')
  })

  it('a malformed reference is a usage error before any source is asked', async () => {
    const error = await resolveSecret('a#', options).catch((error_: unknown) => error_)
    expect((error as KeyflowError).code).to.equal('MALFORMED_REFERENCE')
  })

  it('explainSecret gives the trace and provenance, never throwing for a miss', async () => {
    const hit = await explainSecret('FILE_SECRET', options)
    expect(hit.ok).to.equal(true)
    expect(hit.trace.map((step) => step.outcome)).to.deep.equal(['miss', 'miss', 'hit'])
    const missing = await explainSecret('NOPE', options)
    expect(missing.ok).to.equal(false)
    assertNoCanary(JSON.stringify(hit), [fromEnv, fromFile], 'the explanation')
    expect('value' in hit).to.equal(false)
  })
})
