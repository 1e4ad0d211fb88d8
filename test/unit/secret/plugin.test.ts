import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {createInvocation} from '../../../src/lib/invocation.js'
import {explainSecret, resolveSecrets} from '../../../src/lib/library.js'
import {secretGet} from '../../../src/lib/secret/get.js'
import {BUILTIN_SOURCES} from '../../../src/lib/secret/sources/index.js'
import {TOY_VAULT, toyVault} from '../../fixtures/sources/toy-vault.js'
import {assertNoCanary, canary} from '../../support/canary.js'
import {tempDir} from '../../support/cli.js'

/**
 * A source plugs in as one file (test/fixtures/sources/toy-vault.ts) and one line: the plug-in
 * list below, which is what src/lib/secret/sources/index.ts holds for the built-in ones.
 */
const SOURCES = [...BUILTIN_SOURCES, toyVault]

describe('a source plug-in: one file and one line', () => {
  let dir: ReturnType<typeof tempDir>
  const value = canary('toy')
  const invocation = (env: NodeJS.ProcessEnv = {}, flags: Record<string, unknown> = {}) =>
    createInvocation({cwd: dir.path, env: {KEYFLOW_HOME: dir.path, KEYFLOW_PROJECT_FILE: '', ...env}, flags, sources: SOURCES})

  before(() => {
    dir = tempDir()
    TOY_VAULT['team/API_TOKEN'] = value
  })

  after(() => dir.cleanup())

  it('answers through the chain after the built-in sources, with its own setting from the environment', async () => {
    const [secret] = await resolveSecrets(['API_TOKEN'], {invocation: invocation({KEYFLOW_TOY_PREFIX: 'team/'})})
    expect(secret.value === value).to.equal(true)
    expect(secret.provenance).to.deep.equal({key: 'team/API_TOKEN', source: 'toy'})
  })

  it('is addressed alone by its scheme, whatever the source list says', async () => {
    const [secret] = await resolveSecrets(['toy://team/API_TOKEN'], {invocation: invocation({KEYFLOW_SOURCES: 'env'})})
    expect(secret.value === value).to.equal(true)
  })

  it('takes its setting from a flag and from keyflow.json, with the origin recorded', () => {
    expect(invocation({}, {toyPrefix: 'x/'}).settings.origins.toyPrefix).to.equal('flag --toy-prefix')
    const file = join(dir.path, 'keyflow.json')
    writeFileSync(file, JSON.stringify({toy: {prefix: 'team/'}}), {mode: 0o600})
    const {settings} = invocation({KEYFLOW_PROJECT_FILE: file})
    expect(settings.toyPrefix).to.equal('team/')
    expect(settings.origins.toyPrefix).to.equal(`${file} (toy.prefix)`)
  })

  it('is walked, missed and explained like any source, and never shows the value', async () => {
    const explanation = await explainSecret('MISSING', {invocation: invocation({KEYFLOW_SOURCES: 'env,toy'})})
    expect(explanation.trace.map((step) => [step.source, step.outcome, step.detail])).to.deep.equal([
      ['env', 'miss', '$MISSING is not set'],
      ['toy', 'miss', 'no key MISSING in the toy vault'],
    ])
    const output = await secretGet(invocation({KEYFLOW_SOURCES: 'toy', KEYFLOW_TOY_PREFIX: 'team/'}), ['API_TOKEN'], {explain: true})
    const text = String(output.stdout)
    expect(text).to.contain('1. toy      hit       found vault key team/API_TOKEN')
    expect(text).to.contain('=> toy vault key team/API_TOKEN')
    expect(text).to.match(/toyPrefix\s+team\/\s+env KEYFLOW_TOY_PREFIX/)
    assertNoCanary(text + JSON.stringify(output.json), [value], 'the explanation')
  })
})
