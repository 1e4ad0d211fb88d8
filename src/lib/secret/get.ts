import {ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {humanLines} from '../output/escape.js'
import {combinedFailure, describeProvenance, resolveReferences, TraceStep} from './chain.js'
import {formatSecrets, SecretFormat} from './format.js'
import {ENV_NAME, parseAliasedReference} from './reference.js'
import {Provenance} from './source.js'

/**
 * `keyflow secret get`: shared by the oclif command and bin/run.js's fast path, which both
 * hand it the parsed arguments and flags, keyed by flag name.
 */

export interface SecretGetFlags {
  [setting: string]: unknown
  base64?: boolean
  explain?: boolean
  format?: SecretFormat
  newline?: boolean
}

export interface SecretEntry {
  encoding?: 'base64' | 'utf8'
  found: boolean
  key: string
  provenance?: Provenance
  reference: string
  source?: string
  trace?: TraceStep[]
  value?: string
}

export interface SecretGetResult {
  secrets: SecretEntry[]
  /** With --explain: each setting's value and where it came from. */
  settings?: Record<string, {from: string | undefined; value: unknown}>
}

export interface SecretGetOutput {
  /** The document --json prints. */
  json: SecretGetResult
  /** What stdout gets otherwise: the value itself, formatted values, or the explanation. */
  stdout: string | Uint8Array
}

const isBinary = (value: string | Uint8Array): value is Uint8Array => typeof value !== 'string'

function encode(value: string | Uint8Array, base64: boolean | undefined): {encoding: 'base64' | 'utf8'; text: string} {
  if (base64) return {encoding: 'base64', text: Buffer.from(value).toString('base64')}
  if (isBinary(value)) return {encoding: 'base64', text: Buffer.from(value).toString('base64')}
  return {encoding: 'utf8', text: value}
}

export async function secretGet(invocation: Invocation, names: string[], flags: SecretGetFlags): Promise<SecretGetOutput> {
  if (names.length === 0) {
    throw new KeyflowError('Name at least one secret.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'keyflow secret get DB_PASSWORD'})
  }

  const wanted = names.map((name) => parseAliasedReference(name, invocation.plugins))
  // Name/value output holds each name once; two references with one name would lose a value.
  if ((flags.format || wanted.length > 1) && !flags.explain && !flags.json) {
    const seen = new Map<string, string>()
    for (const {key, reference} of wanted) {
      const earlier = seen.get(key)
      if (earlier !== undefined) {
        throw new KeyflowError(`${JSON.stringify(earlier)} and ${JSON.stringify(reference.text)} would both be written as ${key}.`, {
          code: 'DUPLICATE_NAME',
          exit: ExitCode.USAGE,
          fix: `Name one of them: OTHER_NAME=${reference.text}`,
        })
      }

      seen.set(key, reference.text)
    }
  }

  const resolutions = await resolveReferences(
    wanted.map(({reference}) => reference),
    invocation.chain,
  )

  if (flags.explain) return explain(invocation, wanted.map(({key}) => key), resolutions)

  const failure = combinedFailure(resolutions)
  if (failure) throw failure

  const entries = resolutions.map((resolution, index): SecretEntry & {raw: string | Uint8Array} => {
    if (!resolution.ok) throw resolution.error
    const {encoding, text} = encode(resolution.value, flags.base64)
    return {
      encoding,
      found: true,
      key: wanted[index].key,
      provenance: resolution.provenance,
      raw: resolution.value,
      reference: resolution.reference.text,
      source: resolution.provenance.source,
      value: text,
    }
  })
  const json = {secrets: entries.map(({raw: _raw, ...entry}) => entry)}

  if (!flags.format && entries.length === 1) {
    const [{raw}] = entries
    if (isBinary(raw) && !flags.base64) return {json, stdout: raw}
    const text = flags.base64 ? Buffer.from(raw).toString('base64') : (raw as string)
    return {json, stdout: flags.newline === false ? text : text + '\n'}
  }

  const format = flags.format ?? 'env'
  const binary = entries.find((entry) => isBinary(entry.raw) && !flags.base64)
  if (binary) {
    throw new KeyflowError(`Secret ${JSON.stringify(binary.reference)} is binary and cannot be written as text.`, {
      code: 'BINARY_SECRET',
      exit: ExitCode.BAD_VALUE,
      fix: 'Add --base64 to write every value base64-encoded.',
    })
  }

  if (format !== 'json') {
    const invalid = entries.find((entry) => !ENV_NAME.test(entry.key))
    if (invalid) {
      throw new KeyflowError(`${JSON.stringify(invalid.key)} is not a valid variable name for --format ${format}.`, {
        code: 'INVALID_ENV_NAME',
        exit: ExitCode.USAGE,
        fix: `Give it one: ALIAS=${invalid.reference}`,
      })
    }
  }

  return {json, stdout: formatSecrets(entries.map(({key, value}) => ({key, value: value!})), format)}
}

function explain(invocation: Invocation, keys: string[], resolutions: Awaited<ReturnType<typeof resolveReferences>>): SecretGetOutput {
  const {settings} = invocation
  const secrets = resolutions.map((resolution, index): SecretEntry => ({
    found: resolution.ok,
    key: keys[index],
    provenance: resolution.ok ? resolution.provenance : undefined,
    reference: resolution.reference.text,
    source: resolution.ok ? resolution.provenance.source : undefined,
    trace: resolution.trace,
  }))
  const lines: string[] = []
  for (const [index, secret] of secrets.entries()) {
    const resolution = resolutions[index]
    lines.push(secret.reference)
    for (const [step, entry] of (secret.trace ?? []).entries()) {
      lines.push(`  ${step + 1}. ${entry.source.padEnd(8)} ${entry.outcome.padEnd(9)} ${entry.detail}`)
    }

    if (resolution.ok) lines.push(`  => ${describeProvenance(invocation.plugins, resolution.provenance)}`)
    else lines.push(`  => ${resolution.error.message}`, ...resolution.error.details.filter(() => resolution.error.code !== 'SECRET_NOT_FOUND').map((detail) => `     ${detail}`))
  }

  const used = Object.fromEntries(
    Object.entries(settings.origins).map(([key, origin]) => [key, {from: origin, value: settings[key as keyof typeof settings] as unknown}]),
  )
  lines.push('', 'settings:')
  for (const [key, {from, value}] of Object.entries(used)) {
    lines.push(`  ${key.padEnd(20)} ${(Array.isArray(value) ? value.join(',') : typeof value === 'object' ? JSON.stringify(value) : String(value)).padEnd(24)} ${from}`)
  }

  const failure = combinedFailure(resolutions)
  if (failure) process.exitCode = failure.exit
  return {json: {secrets, settings: used}, stdout: humanLines(lines)}
}
