import {KeyflowError} from '../errors.js'
import {ResolvedSettings, resolveSettings, SettingsInput} from '../settings/settings.js'
import {combinedFailure, Resolution, resolveReferences, TraceStep} from './chain.js'
import {parseReference} from './reference.js'
import {Provenance} from './source.js'

/**
 * The resolver chain as a library, for TypeScript flows:
 *
 *   import {resolveSecret} from 'keyflow'
 *   const password = await resolveSecret('db-credentials#password')
 *
 * Settings come from the same places as on the command line (KEYFLOW_* env vars, keyflow.json,
 * $KEYFLOW_HOME/config.json); pass `settings` to override them, as flags would.
 */

export interface ResolveOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Overrides, as the CLI flags would give them, e.g. {awsRegion: 'eu-west-1', sources: ['env', 'aws']}. */
  settings?: SettingsInput['flags']
}

export interface ResolvedSecret {
  provenance: Provenance
  reference: string
  value: string | Uint8Array
}

function settingsFor(options: ResolveOptions): ResolvedSettings {
  return resolveSettings({cwd: options.cwd, env: options.env, flags: options.settings})
}

/** Resolves several references at once (AWS in batches); throws one error listing every failure. */
export async function resolveSecrets(references: string[], options: ResolveOptions = {}): Promise<ResolvedSecret[]> {
  const resolutions = await resolveReferences(references.map((reference) => parseReference(reference)), settingsFor(options))
  const failure = combinedFailure(resolutions)
  if (failure) throw failure
  return resolutions.map((resolution) => {
    const ok = resolution as Extract<Resolution, {ok: true}>
    return {provenance: ok.provenance, reference: ok.reference.text, value: ok.value}
  })
}

/** Resolves one reference to its value: a string, or bytes for a binary AWS secret. */
export async function resolveSecret(reference: string, options: ResolveOptions = {}): Promise<string | Uint8Array> {
  const [secret] = await resolveSecrets([reference], options)
  return secret.value
}

export interface Explanation {
  error?: KeyflowError
  ok: boolean
  provenance?: Provenance
  reference: string
  trace: TraceStep[]
}

/**
 * Which source answered a reference and why the others missed, like `secret get --explain`:
 * never the value, so a flow may log it.
 */
export async function explainSecret(reference: string, options: ResolveOptions = {}): Promise<Explanation> {
  const [resolution] = await resolveReferences([parseReference(reference)], settingsFor(options))
  return resolution.ok
    ? {ok: true, provenance: resolution.provenance, reference: resolution.reference.text, trace: resolution.trace}
    : {error: resolution.error, ok: false, reference: resolution.reference.text, trace: resolution.trace}
}
