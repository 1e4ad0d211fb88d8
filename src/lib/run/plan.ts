import {combineErrors, ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {Resolution, resolveReferences} from '../secret/chain.js'
import {defaultKey, ENV_NAME} from '../secret/reference.js'
import {Provenance} from '../secret/source.js'
import {jsonObjectMembers} from '../util/json.js'
import {EnvStyle, SecretDeclaration, SourceDeclaration} from './project.js'

/**
 * The injection plan: what `keyflow run` puts into the child's environment, gathered from
 * several providers that all resolve at once. The reference provider here handles --secret,
 * --source and the project file's secrets and sources in one resolveReferences call (so AWS
 * sees BatchGetSecretValue calls of 20 ids); other providers (blocks) add their own entries
 * alongside. Every problem from every provider is collected, and nothing runs unless there
 * are none.
 */

export interface Injection {
  /** A key of a --source: named by whoever wrote the secret, not by the run. */
  fromSource?: boolean
  /** The name before styling: PREFECT__CONTEXT__SECRETS__<key> and/or <key>. */
  key: string
  /** What declared it: sources may not replace inherited variables unless allowed (Metaflow's rule). */
  kind: 'block' | 'secret' | 'source'
  /** Where it was asked for: a flag, a place in the project file, a block. */
  origin: string
  /** Where the value came from: an AWS ARN and version (for --watch), a block field and its store (for --explain). */
  provenance?: Provenance
  /** False for a block's plain fields (a database name...), which are injected but not masked. */
  secret?: boolean
  /** The declaration's own style; the run's style applies when absent. */
  style?: EnvStyle
  value: string
}

export interface Problem {
  error: KeyflowError
  label: string
}

export interface ProviderResult {
  injections: Injection[]
  /** Optional things that were not found, by origin: reported, not fatal. */
  notes: string[]
  problems: Problem[]
}

export type InjectionProvider = (invocation: Invocation) => Promise<ProviderResult>

function badValue(message: string, label: string, fix: string): Problem {
  return {error: new KeyflowError(message, {code: 'BAD_INJECTION', exit: ExitCode.BAD_VALUE, fix}), label}
}

/** A value a child's environment can hold: text without NUL bytes. */
function envValue(value: string, label: string): Problem | string {
  if (value.includes('\0')) return badValue('The value holds a NUL byte, which an environment variable cannot carry.', label, 'Store the value without NUL bytes.')
  return value
}

const METAFLOW_KEY = /^METAFLOW_/

/** Metaflow's key rules: `-`, `.` and `/` become `_`, then it must be a valid variable name, not METAFLOW_*. */
function sourceKeys(object: Record<string, unknown>, label: string): {injections: Array<{key: string; value: unknown}>; problems: Problem[]} {
  const problems: Problem[] = []
  const seen = new Map<string, string>()
  const injections: Array<{key: string; value: unknown}> = []
  for (const [raw, value] of Object.entries(object)) {
    const key = raw.replaceAll(/[./-]/g, '_')
    if (!ENV_NAME.test(key)) {
      problems.push(badValue(`Key ${JSON.stringify(raw)} is not a valid environment variable name.`, label, 'Keys must be letters, digits and _ (-, . and / become _), not starting with a digit.'))
    } else if (METAFLOW_KEY.test(key)) {
      problems.push(badValue(`Key ${JSON.stringify(raw)} starts with METAFLOW_, which Metaflow reserves for its own settings.`, label, 'Rename the key.'))
    } else if (seen.has(key)) {
      problems.push(badValue(`Keys ${JSON.stringify(seen.get(key))} and ${JSON.stringify(raw)} both become ${key}.`, label, 'Rename one of the keys.'))
    } else {
      seen.set(key, raw)
      injections.push({key, value})
    }
  }

  return {injections, problems}
}

function expandSource(resolution: Extract<Resolution, {ok: true}>, value: string, declaration: SourceDeclaration): ProviderResult {
  const label = `source ${JSON.stringify(resolution.reference.text)}`
  const result: ProviderResult = {injections: [], notes: [], problems: []}
  const injection = (key: string, value: string, fromSource?: boolean): Injection => ({fromSource, key, kind: 'source', origin: declaration.origin, provenance: resolution.provenance, style: declaration.envStyle, value})
  const text = envValue(value, label)
  if (typeof text !== 'string') return {...result, problems: [text]}
  if (!declaration.options.json) {
    // Metaflow's json: false: one variable, named by env_var_name or after the secret.
    const {injections, problems} = sourceKeys({[declaration.options.envVarName ?? defaultKey(resolution.reference)]: text}, label)
    return {...result, injections: injections.map(({key}) => injection(key, text)), problems}
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // JSON.parse's message quotes the text: never forward it.
    return {...result, problems: [badValue('A source must hold a JSON object; this one is not JSON.', label, 'Store the secret as {"KEY": "value", ...}, or declare it with "options": {"json": false}.')]}
  }

  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {...result, problems: [badValue(`A source must hold a JSON object, not ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}.`, label, 'Store the secret as {"KEY": "value", ...}, or declare it with "options": {"json": false}.')]}
  }

  // Values as written: strings decoded, anything else as its JSON text exactly (docs/compat.md).
  const members = jsonObjectMembers(text)
  const {injections, problems} = sourceKeys(Object.fromEntries([...members].map(([key, {raw, value}]) => [key, typeof value === 'string' ? value : raw])), label)
  result.problems.push(...problems)
  for (const {key, value} of injections) {
    const checked = envValue(value as string, `${label} key ${key}`)
    if (typeof checked === 'string') result.injections.push(injection(key, checked, true))
    else result.problems.push(checked)
  }

  return result
}

/**
 * A binary secret (SecretBinary) goes in base64, as Metaflow's @secrets gives it: a secret under
 * its key, a source as one variable named by env_var_name or after the secret (Metaflow's key
 * rules), in the declaration's style. The notice names the secret and the variable, never the value.
 */
function binaryInjection(resolution: Extract<Resolution, {ok: true}>, declaration: SecretDeclaration | SourceDeclaration, label: string): ProviderResult {
  const value = Buffer.from(resolution.value).toString('base64')
  const {name} = resolution.provenance
  const secretName = resolution.provenance.source === 'aws' && typeof name === 'string' ? name : ''
  const {injections, problems} = 'key' in declaration
    ? {injections: [{key: declaration.key, value}], problems: []}
    : sourceKeys({[declaration.options.envVarName ?? (secretName || defaultKey(resolution.reference))]: value}, label)
  const kind: Injection['kind'] = 'key' in declaration ? 'secret' : 'source'
  return {
    injections: injections.map((injection) => ({key: injection.key, kind, origin: declaration.origin, style: declaration.envStyle, value})),
    notes: injections.map((injection) => `${label} is binary: ${injection.key} gets it base64-encoded, as Metaflow gives binary secrets.`),
    problems,
  }
}

const isOptionalMiss = (declaration: {optional: boolean}, resolution: Resolution) =>
  declaration.optional && !resolution.ok && resolution.error.code === 'SECRET_NOT_FOUND'

export function referenceProvider(secrets: SecretDeclaration[], sources: SourceDeclaration[]): InjectionProvider {
  return async (invocation) => {
    const resolutions = await resolveReferences([...secrets, ...sources].map(({reference}) => reference), invocation.chain)
    const result: ProviderResult = {injections: [], notes: [], problems: []}
    for (const [index, declaration] of [...secrets, ...sources].entries()) {
      const resolution = resolutions[index]
      const isSource = index >= secrets.length
      const label = `${isSource ? 'source' : 'secret'} ${JSON.stringify(declaration.reference.text)}`
      if (isOptionalMiss(declaration, resolution)) {
        result.notes.push(`optional ${label} (${declaration.origin}) was not found; nothing injected for it.`)
      } else if (!resolution.ok) {
        result.problems.push({error: resolution.error, label: `${label} (${declaration.origin})`})
      } else if (typeof resolution.value !== 'string') {
        const binary = binaryInjection(resolution, declaration, label)
        result.injections.push(...binary.injections)
        result.notes.push(...binary.notes)
        result.problems.push(...binary.problems)
      } else if (isSource) {
        const expanded = expandSource(resolution, resolution.value, declaration as SourceDeclaration)
        result.injections.push(...expanded.injections)
        result.problems.push(...expanded.problems)
      } else {
        const value = envValue(resolution.value, label)
        const {envStyle, key} = declaration as SecretDeclaration
        if (typeof value === 'string') result.injections.push({key, kind: 'secret', origin: declaration.origin, provenance: resolution.provenance, style: envStyle, value})
        else result.problems.push(value)
      }
    }

    return result
  }
}

/**
 * Invalid names fail before anything is resolved: no call is made for a run that cannot start.
 * A name injected only as PREFECT__CONTEXT__SECRETS__NAME may be any name Prefect 1 reads
 * (my-key, my.key: the environment holds them, a shell need not); a plain variable must be a
 * shell name. `styleOf` gives each declaration's style.
 */
export function checkKeys(secrets: SecretDeclaration[], styleOf: (declaration: SecretDeclaration) => EnvStyle): void {
  const bad = secrets.filter((declaration) => styleOf(declaration) !== 'prefect' && !ENV_NAME.test(declaration.key))
  if (bad.length === 0) return
  const [first] = bad
  const alias = first.key.toUpperCase().replaceAll(/\W/g, '_').replace(/^(?=\d)/, '_')
  throw new KeyflowError(`${bad.length === 1 ? 'A name is not a valid environment variable name' : `${bad.length} names are not valid environment variable names`} for a plain variable.`, {
    code: 'INVALID_ENV_NAME',
    details: bad.map(({key, origin, reference}) => `${JSON.stringify(key)} from ${JSON.stringify(reference.text)} (${origin})`),
    exit: ExitCode.USAGE,
    fix: `Plain names are letters, digits and _, not starting with a digit. Give one with ALIAS=REFERENCE, e.g. --secret ${alias}=${first.reference.text}, or inject it only as PREFECT__CONTEXT__SECRETS__NAME (--env-style prefect), which takes any name.`,
  })
}

export interface Plan {
  injections: Injection[]
  notes: string[]
}

/** Runs every provider in parallel; throws one error listing every problem, collisions included. */
export async function resolvePlan(providers: InjectionProvider[], invocation: Invocation): Promise<Plan> {
  const results = await Promise.all(providers.map((provider) => provider(invocation)))
  const injections = results.flatMap((result) => result.injections)
  const problems = results.flatMap((result) => result.problems)
  const first = new Map<string, Injection>()
  for (const injection of injections) {
    const earlier = first.get(injection.key)
    if (earlier) {
      problems.push({
        error: new KeyflowError(`${injection.key} is injected by both ${earlier.origin} and ${injection.origin}.`, {code: 'INJECTION_COLLISION', exit: ExitCode.CONFLICT}),
        label: injection.key,
      })
    } else {
      first.set(injection.key, injection)
    }
  }

  if (problems.length === 1) {
    const [{error, label}] = problems
    throw new KeyflowError(`${label}: ${error.message}`, {code: error.code, details: error.details, exit: error.exit, fix: error.fix, where: error.where})
  }

  const failure = combineErrors(problems, 'problems: nothing was run.')
  if (failure) throw failure

  return {injections, notes: results.flatMap((result) => result.notes)}
}
