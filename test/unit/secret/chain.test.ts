import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {ResolvedSettings, resolveSettings} from '../../../src/lib/invocation.js'
import {Chain, combinedFailure, Resolution, resolveReferences} from '../../../src/lib/secret/chain.js'
import {parseReference} from '../../../src/lib/secret/reference.js'
import {failure, hit, LookupRequest, miss, Outcome, SecretSource} from '../../../src/lib/secret/source.js'
import {BUILTIN_SOURCES, BuiltinSourceKind as SourceKind} from '../../../src/lib/secret/sources/index.js'
import {assertNoCanary, canary} from '../../support/canary.js'
import {tempDir} from '../../support/cli.js'

type Answer = (request: LookupRequest) => Outcome

/** A source that answers from a function and records every batch it was asked. */
function fakeSource(kind: SourceKind, answer: Answer): SecretSource & {calls: string[][]} {
  const calls: string[][] = []
  return {
    calls,
    kind,
    async lookup(requests) {
      calls.push(requests.map((request) => request.name))
      return requests.map((request) => answer(request))
    },
  }
}

const provenance = (kind: SourceKind) =>
  kind === 'aws'
    ? ({arn: 'arn:aws:secretsmanager:r:1:secret:x', name: 'x', source: 'aws'} as const)
    : kind === 'dotenv'
      ? ({file: '/x/.env', line: 1, source: 'dotenv'} as const)
      : ({source: kind, variable: 'X'} as const)

/** Each source holds the names in its table; anything else is a miss. */
function sourcesFrom(tables: Partial<Record<SourceKind, Record<string, Outcome | string>>>) {
  const make = (kind: SourceKind) =>
    fakeSource(kind, ({name}) => {
      const entry = tables[kind]?.[name]
      if (entry === undefined) return miss(`${kind} has no ${name}`, `set ${name} in ${kind}`)
      return typeof entry === 'string' ? hit(entry, provenance(kind)) : entry
    })
  return {aws: make('aws'), context: make('context'), dotenv: make('dotenv'), env: make('env')}
}

function ok(resolution: Resolution): Extract<Resolution, {ok: true}> {
  expect(resolution.ok).to.equal(true)
  return resolution as Extract<Resolution, {ok: true}>
}

function failed(resolution: Resolution): Extract<Resolution, {ok: false}> {
  expect(resolution.ok).to.equal(false)
  return resolution as Extract<Resolution, {ok: false}>
}

describe('resolver chain', () => {
  let dir: ReturnType<typeof tempDir>
  let settings: ResolvedSettings

  before(() => {
    dir = tempDir()
    settings = resolveSettings({cwd: dir.path, env: {KEYFLOW_HOME: dir.path, KEYFLOW_PROJECT_FILE: ''}})
  })

  after(() => dir.cleanup())

  const withSources = (sources: SourceKind[]): ResolvedSettings => ({...settings, sources})
  const resolve = (refs: string[], sources: Chain['sources'], using = settings) =>
    resolveReferences(
      refs.map((ref) => parseReference(ref)),
      {order: using.sources, plugins: BUILTIN_SOURCES, sources},
    )

  it('walks context, env, dotenv, aws by default: the first hit wins and later sources are not asked', async () => {
    const value = canary('env')
    const sources = sourcesFrom({aws: {A: 'aws-value'}, dotenv: {A: 'dotenv-value'}, env: {A: value}})
    const [result] = await resolve(['A'], sources)
    expect(ok(result).value === value).to.equal(true)
    expect(result.trace.map((step) => [step.source, step.outcome])).to.deep.equal([
      ['context', 'miss'],
      ['env', 'hit'],
      ['dotenv', 'not-tried'],
      ['aws', 'not-tried'],
    ])
    expect(sources.dotenv.calls).to.deep.equal([])
    expect(sources.aws.calls).to.deep.equal([])
    assertNoCanary(JSON.stringify(result.trace), [value], 'the trace')
  })

  it('a miss moves on, down to the last source', async () => {
    const sources = sourcesFrom({aws: {A: 'from-aws'}})
    const [result] = await resolve(['A'], sources)
    expect(ok(result).value).to.equal('from-aws')
    expect(result.trace.map((step) => step.outcome)).to.deep.equal(['miss', 'miss', 'miss', 'hit'])
  })

  it('a failure stops the chain with that error; later sources are not asked', async () => {
    const error = new KeyflowError('The env file is unreadable.', {code: 'X', exit: ExitCode.SOURCE_FAILURE, where: '/x/.env'})
    const sources = sourcesFrom({aws: {A: 'from-aws'}, dotenv: {A: failure(error)}})
    const [result] = await resolve(['A'], sources)
    expect(failed(result).error).to.equal(error)
    expect(result.trace.map((step) => [step.source, step.outcome])).to.deep.equal([
      ['context', 'miss'],
      ['env', 'miss'],
      ['dotenv', 'failure'],
      ['aws', 'not-tried'],
    ])
    expect(result.trace[2].detail).to.equal('The env file is unreadable. (/x/.env)')
    expect(sources.aws.calls).to.deep.equal([])
  })

  it('a source that throws fails its whole batch with a source-failure error', async () => {
    const sources = sourcesFrom({})
    sources.env.lookup = async () => {
      throw new TypeError('boom')
    }

    const results = await resolve(['A', 'B'], sources)
    for (const result of results) {
      const {error} = failed(result)
      expect(error.exit).to.equal(ExitCode.SOURCE_FAILURE)
      expect(error.code).to.equal('SOURCE_FAILED')
      expect(error.message).to.not.contain('boom')
    }
  })

  it('a KeyflowError thrown by a source is kept as it is', async () => {
    const thrown = new KeyflowError('denied', {code: 'AWS_DENIED', exit: ExitCode.SOURCE_FAILURE})
    const sources = sourcesFrom({})
    sources.context.lookup = async () => {
      throw thrown
    }

    const [result] = await resolve(['A'], sources)
    expect(failed(result).error).to.equal(thrown)
  })

  it('not found everywhere: exit 3, every source and its reason listed, how to set it in each', async () => {
    const [result] = await resolve(['MISSING'], sourcesFrom({}))
    const {error} = failed(result)
    expect(error.exit).to.equal(ExitCode.NOT_FOUND)
    expect(error.code).to.equal('SECRET_NOT_FOUND')
    expect(error.where).to.equal('sources tried: context, env, dotenv, aws')
    expect(error.details).to.have.length(4)
    for (const [index, kind] of ['context', 'env', 'dotenv', 'aws'].entries()) {
      expect(error.details[index]).to.match(new RegExp(`^${kind}\\s+${kind} has no MISSING$`))
      expect(error.fix).to.contain(`set MISSING in ${kind}`)
    }
  })

  it('--sources restricts the chain', async () => {
    const sources = sourcesFrom({context: {A: 'ctx'}, env: {A: 'env'}})
    const [result] = await resolve(['A'], sources, withSources(['dotenv', 'aws']))
    const {error} = failed(result)
    expect(error.where).to.equal('sources tried: dotenv, aws')
    expect(sources.context.calls).to.deep.equal([])
    expect(sources.env.calls).to.deep.equal([])
  })

  it('--sources reorders the chain: a name present in several sources comes from the first listed', async () => {
    const sources = sourcesFrom({aws: {A: 'aws'}, context: {A: 'ctx'}, dotenv: {A: 'dotenv'}, env: {A: 'env'}})
    expect(ok((await resolve(['A'], sources))[0]).value).to.equal('ctx')
    expect(ok((await resolve(['A'], sources, withSources(['aws', 'env'])))[0]).value).to.equal('aws')
    expect(ok((await resolve(['A'], sources, withSources(['dotenv', 'context'])))[0]).value).to.equal('dotenv')
  })

  it('a direct reference asks its source alone, whatever --sources says', async () => {
    const sources = sourcesFrom({aws: {A: 'aws'}, env: {A: 'env'}})
    const [viaEnv, viaAws, missing] = await resolve(['env://A', 'aws-sm://A', 'dotenv://A'], sources, withSources(['context']))
    expect(ok(viaEnv).value).to.equal('env')
    expect(ok(viaAws).value).to.equal('aws')
    expect(failed(missing).error.where).to.equal('sources tried: dotenv')
    expect(sources.context.calls).to.deep.equal([])
    expect(sources.env.calls).to.deep.equal([['A']])
  })

  it('marks direct requests and passes AWS version pins on', async () => {
    const seen: LookupRequest[] = []
    const sources = sourcesFrom({})
    sources.aws.lookup = async (requests) => {
      seen.push(...requests)
      return requests.map(() => hit('v', provenance('aws')))
    }

    await resolve(['A', 'aws-sm://B?stage=AWSPREVIOUS'], sources, withSources(['aws']))
    expect(seen).to.deep.equal([
      {direct: false, name: 'A'},
      {direct: true, name: 'B', versionId: undefined, versionStage: 'AWSPREVIOUS'},
    ])
  })

  it('asks each source once per round with every name that reached it', async () => {
    const sources = sourcesFrom({aws: {C: 'c'}, env: {A: 'a'}})
    const results = await resolve(['A', 'B', 'C'], sources, withSources(['env', 'aws']))
    expect(sources.env.calls).to.deep.equal([['A', 'B', 'C']])
    expect(sources.aws.calls).to.deep.equal([['B', 'C']])
    expect(results.map((result) => result.ok)).to.deep.equal([true, false, true])
  })

  it('reads a JSON path out of the value that was found', async () => {
    const password = canary('pw')
    const sources = sourcesFrom({env: {DB: JSON.stringify({password, user: 'app'})}})
    const [result, missingKey] = await resolve(['DB#password', 'DB#nope'], sources)
    expect(ok(result).value === password).to.equal(true)
    const {error} = failed(missingKey)
    expect(error.exit).to.equal(ExitCode.BAD_VALUE)
    assertNoCanary(JSON.stringify(error.toJSON()), [password], 'the error')
  })

  it('keeps empty values as hits', async () => {
    const [result] = await resolve(['A'], sourcesFrom({context: {A: ''}, env: {A: 'env'}}))
    expect(ok(result).value).to.equal('')
  })

  describe('combinedFailure', () => {
    it('is undefined when all resolved, the error itself when one failed', async () => {
      const sources = sourcesFrom({env: {A: 'a'}})
      expect(combinedFailure(await resolve(['A'], sources))).to.equal(undefined)
      const results = await resolve(['A', 'B'], sources)
      expect(combinedFailure(results)).to.equal(failed(results[1]).error)
    })

    it('lists every failure, ranking source failure over bad value over not found', async () => {
      const broken = new KeyflowError('broken', {code: 'X', exit: ExitCode.SOURCE_FAILURE})
      const sources = sourcesFrom({env: {BAD: failure(broken), J: 'not json'}})
      const notFoundAndBadValue = combinedFailure(await resolve(['MISSING', 'J#key'], sources))!
      expect(notFoundAndBadValue.exit).to.equal(ExitCode.BAD_VALUE)
      const all = combinedFailure(await resolve(['MISSING', 'J#key', 'BAD'], sources))!
      expect(all.exit).to.equal(ExitCode.SOURCE_FAILURE)
      expect(all.code).to.equal('SECRETS_UNRESOLVED')
      expect(all.message).to.equal('3 of 3 secrets could not be resolved.')
      for (const name of ['"MISSING"', '"J#key"', '"BAD"']) {
        expect(all.details.some((line) => line.startsWith(name))).to.equal(true)
      }
    })
  })
})
