import {combineErrors, ExitCode, KeyflowError} from '../errors.js'
import {extractJsonPath} from './json-path.js'
import {SecretReference} from './reference.js'
import {LookupRequest, Outcome, Provenance, SecretSource, SourcePlugin} from './source.js'

/**
 * How a hit the cache layer served reads in --explain: ` [cache: fresh, age 2m3s]`. Rendered
 * here, with the rest of the provenance; the cache layer (cache/layer.ts, above this one) only
 * puts {state, age} on it.
 */
function describeCache(cache: unknown): string {
  const {age, state} = (cache ?? {}) as {age?: string; state?: string}
  return state ? ` [cache: ${state}${age ? `, age ${age}` : ''}]` : ''
}

/**
 * The resolver chain (README "The resolver chain"), composed per invocation from the source
 * plug-ins (src/lib/invocation.ts, from sources/index.ts).
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

export interface Chain {
  /** The kinds a name walks, in order (the `sources` setting). */
  readonly order: readonly string[]
  readonly plugins: readonly SourcePlugin[]
  readonly sources: Readonly<Record<string, SecretSource>>
}

/** Opens every plug-in for one invocation; a source does no work before its first lookup. */
export function openChain(plugins: readonly SourcePlugin[], order: readonly string[], open: (plugin: SourcePlugin) => SecretSource): Chain {
  return {order, plugins, sources: Object.fromEntries(plugins.map((plugin) => [plugin.kind, open(plugin)]))}
}

/** The one rendering of a provenance: `env $NAME`, `dotenv FILE:LINE`, `aws ARN version V (STAGES)`. */
export function describeProvenance(plugins: readonly SourcePlugin[], provenance: Provenance): string {
  return `${provenance.source} ${describeHit(plugins, provenance)}`
}

function describeHit(plugins: readonly SourcePlugin[], provenance: Provenance): string {
  const plugin = plugins.find((candidate) => candidate.kind === provenance.source)
  return (plugin ? plugin.describe(provenance) : '') + describeCache(provenance.cache)
}

export interface TraceStep {
  detail: string
  outcome: 'failure' | 'hit' | 'miss' | 'not-tried'
  source: string
}

export type Resolution =
  | {error: KeyflowError; ok: false; reference: SecretReference; trace: TraceStep[]}
  | {ok: true; provenance: Provenance; reference: SecretReference; trace: TraceStep[]; value: string | Uint8Array}

interface Pending {
  hints: string[]
  index: number
  kinds: string[]
  request: LookupRequest
  trace: TraceStep[]
}

function requestFor(reference: SecretReference): LookupRequest {
  const {path, target, via} = reference
  if (target.kind === 'chain') return {direct: false, name: target.name}
  const request: LookupRequest = {direct: true, name: target.name, versionId: target.versionId, versionStage: target.versionStage}
  // Only when given: a request without them keeps its cache identity and its batch.
  if (target.region) request.region = target.region
  if (target.role) request.role = target.role
  if (path.length > 0) request.path = path
  if (via) request.via = via
  return request
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

export async function resolveReferences(references: SecretReference[], chain: Chain): Promise<Resolution[]> {
  const {sources} = chain
  const results: Resolution[] = Array.from({length: references.length})
  let pending: Pending[] = references.map((reference, index) => ({
    hints: [],
    index,
    kinds: reference.target.kind === 'chain' ? [...chain.order] : [reference.target.kind],
    request: requestFor(reference),
    trace: [],
  }))

  while (pending.length > 0) {
    const bySource = new Map<string, Pending[]>()
    for (const item of pending) {
      const batch = bySource.get(item.kinds[0])
      if (batch) batch.push(item)
      else bySource.set(item.kinds[0], [item])
    }

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

      item.trace.push({detail: `found ${describeHit(chain.plugins, outcome.provenance)}`, outcome: 'hit', source: kind}, ...notTried)
      results[item.index] = chain.plugins.find((plugin) => plugin.kind === kind)?.picksPath
        ? {ok: true, provenance: outcome.provenance, reference, trace: item.trace, value: outcome.value}
        : pickPath(reference, outcome.value, outcome.provenance, item.trace)
    }

    pending = next
  }

  return results
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

