import {ExitCode, KeyflowError} from '../errors.js'
import {ResolvedSettings, SourceKind} from '../settings/settings.js'
import {extractJsonPath} from './json-path.js'
import {SecretReference} from './reference.js'
import {LookupRequest, Outcome, Provenance, SecretSource} from './source.js'
import {contextSource} from './sources/context-env.js'
import {dotenvSource} from './sources/dotenv.js'
import {envSource} from './sources/env.js'

/**
 * The resolver chain, composed here and only here (README "The resolver chain").
 *
 * A name walks the configured sources in order (default: context, env, dotenv, aws): the first
 * hit wins, a miss moves on, a failure stops the walk with that error. A reference that
 * addresses a source directly (env://, aws-sm://, ...) asks that source alone, whatever
 * --sources says. Every step is recorded, so --explain and "not found" can say why each
 * source missed.
 *
 * All references are resolved together: each round asks every source the batch of names that
 * reached it, in parallel, so AWS sees a few BatchGetSecretValue calls instead of one call
 * per name.
 */

export type SourceSet = Record<SourceKind, SecretSource>

export function createSources(settings: ResolvedSettings): SourceSet {
  return {
    aws: lazySource('aws', async () => (await import('./sources/aws.js')).awsSource(settings)),
    context: contextSource(settings.env),
    dotenv: dotenvSource(settings),
    env: envSource(settings.env),
  }
}

/** A source whose module loads on its first lookup: a hit earlier in the chain never pays for it. */
function lazySource(kind: SourceKind, load: () => Promise<SecretSource>): SecretSource {
  let source: Promise<SecretSource> | undefined
  return {
    kind,
    async lookup(requests) {
      source ??= load()
      return (await source).lookup(requests)
    },
  }
}

export interface TraceStep {
  detail: string
  outcome: 'failure' | 'hit' | 'miss' | 'not-tried'
  source: SourceKind
}

export type Resolution =
  | {error: KeyflowError; ok: false; reference: SecretReference; trace: TraceStep[]}
  | {ok: true; provenance: Provenance; reference: SecretReference; trace: TraceStep[]; value: string | Uint8Array}

interface Pending {
  hints: string[]
  index: number
  kinds: SourceKind[]
  request: LookupRequest
  trace: TraceStep[]
}

function requestFor(reference: SecretReference): LookupRequest {
  const {target} = reference
  if (target.kind === 'aws') {
    return {direct: true, name: target.secretId, versionId: target.versionId, versionStage: target.versionStage}
  }

  return {direct: target.kind !== 'chain', name: target.name}
}

function notFound(reference: SecretReference, trace: TraceStep[], hints: string[]): KeyflowError {
  return new KeyflowError(`Secret ${JSON.stringify(reference.text)} was not found in any source.`, {
    code: 'SECRET_NOT_FOUND',
    details: trace.map((step) => `${step.source.padEnd(8)} ${step.detail}`),
    exit: ExitCode.NOT_FOUND,
    fix: hints.length > 0 ? `Set it in one of them, e.g.: ${hints.join('  |  ')}` : 'Check the name.',
    where: `sources tried: ${trace.map((step) => step.source).join(', ')}`,
  })
}

export async function resolveReferences(
  references: SecretReference[],
  settings: ResolvedSettings,
  sources: SourceSet = createSources(settings),
): Promise<Resolution[]> {
  const results: Resolution[] = Array.from({length: references.length})
  let pending: Pending[] = references.map((reference, index) => ({
    hints: [],
    index,
    kinds: reference.target.kind === 'chain' ? [...settings.sources] : [reference.target.kind],
    request: requestFor(reference),
    trace: [],
  }))

  while (pending.length > 0) {
    const bySource = new Map<SourceKind, Pending[]>()
    for (const item of pending) bySource.set(item.kinds[0], [...(bySource.get(item.kinds[0]) ?? []), item])

    // eslint-disable-next-line no-await-in-loop
    const answered = await Promise.all(
      [...bySource].map(async ([kind, items]) => {
        let outcomes: Outcome[]
        try {
          outcomes = await sources[kind].lookup(items.map((item) => item.request))
        } catch (error) {
          const keyflowError =
            error instanceof KeyflowError
              ? error
              : new KeyflowError(`The ${kind} source failed.`, {cause: error, code: 'SOURCE_FAILED', exit: ExitCode.SOURCE_FAILURE})
          outcomes = items.map(() => ({error: keyflowError, kind: 'failure' as const}))
        }

        return items.map((item, i) => ({item, kind, outcome: outcomes[i]}))
      }),
    )

    const next: Pending[] = []
    for (const {item, kind, outcome} of answered.flat()) {
      const reference = references[item.index]
      const rest = item.kinds.slice(1)
      if (outcome.kind === 'miss') {
        item.trace.push({detail: outcome.reason, outcome: 'miss', source: kind})
        if (outcome.hint) item.hints.push(outcome.hint)
        if (rest.length > 0) next.push({...item, kinds: rest})
        else results[item.index] = {error: notFound(reference, item.trace, item.hints), ok: false, reference, trace: item.trace}
        continue
      }

      const notTried = rest.map((source) => ({detail: 'not tried: an earlier source answered', outcome: 'not-tried' as const, source}))
      if (outcome.kind === 'failure') {
        item.trace.push({detail: `${outcome.error.message}${outcome.error.where ? ` (${outcome.error.where})` : ''}`, outcome: 'failure', source: kind}, ...notTried)
        results[item.index] = {error: outcome.error, ok: false, reference, trace: item.trace}
        continue
      }

      item.trace.push({detail: describeHit(outcome.provenance), outcome: 'hit', source: kind}, ...notTried)
      results[item.index] = pickPath(reference, outcome.value, outcome.provenance, item.trace)
    }

    pending = next
  }

  return results
}

function describeHit(provenance: Provenance): string {
  switch (provenance.source) {
    case 'aws': {
      return `found ${provenance.arn}${provenance.versionId ? ` version ${provenance.versionId}` : ''}`
    }

    case 'dotenv': {
      return `found in ${provenance.file}${provenance.line ? `:${provenance.line}` : ''}`
    }

    default: {
      return `found $${provenance.variable}`
    }
  }
}

function pickPath(reference: SecretReference, value: string | Uint8Array, provenance: Provenance, trace: TraceStep[]): Resolution {
  if (reference.path.length === 0) return {ok: true, provenance, reference, trace, value}
  try {
    return {ok: true, provenance, reference, trace, value: extractJsonPath(value, reference)}
  } catch (error) {
    return {error: error as KeyflowError, ok: false, reference, trace}
  }
}

/**
 * One error for every reference that failed, so a caller that needs them all (run, secret
 * get with several names) reports every problem at once. A source failure outranks a bad
 * value, which outranks not found, in the exit code.
 */
export function combinedFailure(resolutions: Resolution[]): KeyflowError | undefined {
  const failed = resolutions.filter((resolution): resolution is Extract<Resolution, {ok: false}> => !resolution.ok)
  return combineErrors(
    failed.map(({error, reference}) => ({error, label: JSON.stringify(reference.text)})),
    `of ${resolutions.length} secrets could not be resolved.`,
  )
}

/** One error listing several, each under its label; `summary` follows the count ("2 of 5 ..."). */
export function combineErrors(failed: Array<{error: KeyflowError; label: string}>, summary: string): KeyflowError | undefined {
  if (failed.length === 0) return undefined
  if (failed.length === 1) return failed[0].error
  const rank = [ExitCode.SOURCE_FAILURE, ExitCode.BAD_VALUE, ExitCode.NOT_FOUND]
  const exit = rank.find((code) => failed.some(({error}) => error.exit === code)) ?? failed[0].error.exit
  return new KeyflowError(`${failed.length} ${summary}`, {
    code: 'SECRETS_UNRESOLVED',
    details: failed.flatMap(({error, label}) => [
      `${label}: ${error.message}${error.where ? ` (${error.where})` : ''}`,
      ...error.details.map((detail) => `    ${detail}`),
    ]),
    exit,
    fix: 'Fix each secret listed above; resolve one alone with --explain to see every source it tried.',
  })
}
