import {join} from 'node:path'

import {ExitCode, KeyflowError} from '../../errors.js'
import {Invocation, Settings} from '../../invocation.js'
import {ensureTrustedDir} from '../../util/trusted-file.js'
import {describeProvenance} from '../chain.js'
import {parseReference, SecretReference} from '../reference.js'
import {envFiles} from '../sources/dotenv.js'
import {awsVersions, AwsWrite, deleteAwsSecretById, openAws, putOrCreate, restoreAwsSecretById, setAwsJsonKey} from './aws.js'
import {DOTENV_NAME, removeDotenvSecret, setDotenvSecret} from './dotenv.js'

/**
 * The secret lifecycle, shared by `keyflow secret set|rm|restore|history` and the library:
 * where a reference is written (AWS or a dotenv file), and the write itself.
 *
 * A reference names its place when it has a scheme (aws-sm://ID, an ARN, dotenv://NAME);
 * a bare NAME goes where `--to` / KEYFLOW_SECRETS_WRITE_TO / secrets.writeTo say, by default the
 * private dotenv file $KEYFLOW_HOME/secrets.env, which the chain reads. A bare NAME on AWS
 * gets the configured prefix, as the chain looks it up.
 */

export type Place = {file: string; kind: 'dotenv'; name: string} | {kind: 'aws'; secretId: string}

function usage(message: string, fix: string, where?: string): KeyflowError {
  return new KeyflowError(message, {code: 'USAGE', exit: ExitCode.USAGE, fix, where})
}

export function placeOf(reference: SecretReference, settings: Settings): Place {
  const {target} = reference
  const to = settings.secretsWriteTo
  const toFromFlag = settings.origins.secretsWriteTo?.startsWith('flag') === true
  const disagree = (kind: string) => {
    if (toFromFlag && to!.kind !== kind) throw usage(`${JSON.stringify(reference.text)} names ${kind === 'aws' ? 'an AWS secret' : 'a dotenv entry'}, but --to says ${to!.kind}.`, 'Drop --to, or the scheme of the reference.')
  }

  switch (target.kind) {
    case 'aws': {
      disagree('aws')
      if (target.versionId || target.versionStage) throw usage('A version cannot be written: every write makes a new version.', `Name the secret without ?stage= or ?version-id=: aws-sm://${target.name}`)
      return {kind: 'aws', secretId: target.name}
    }

    case 'chain': {
      if (to?.kind === 'aws') return {kind: 'aws', secretId: settings.awsPrefix + target.name}
      return dotenvPlace(target.name, to?.path, settings)
    }

    case 'dotenv': {
      disagree('dotenv')
      return dotenvPlace(target.name, to?.kind === 'dotenv' ? to.path : undefined, settings)
    }

    case 'block': {
      throw usage(`${JSON.stringify(reference.text)} is a block field: blocks are written by the block commands, with their validation.`, `Pipe the value to \`keyflow block update ${target.name} --stdin-field ${reference.path.join('.') || 'value'}\` (or \`keyflow block create\` for a new document).`)
    }

    default: {
      throw usage(`keyflow cannot set ${target.kind === 'env' ? 'environment variables' : 'Prefect context variables'} of another process.`, 'Store the secret with --to aws or --to dotenv, and let `keyflow run` put it in the environment.')
    }
  }
}

function dotenvPlace(name: string, path: string | undefined, settings: Settings): Place {
  if (!DOTENV_NAME.test(name)) {
    throw usage(`${JSON.stringify(name)} cannot be a dotenv name: dotenv names hold only letters, digits, _, . and -.`, 'Choose such a name, or store the secret in AWS (--to aws).')
  }

  if (path) return {file: path, kind: 'dotenv', name}
  // The default file lives in keyflow's own private directory, made on first use.
  ensureTrustedDir(settings.home, {followLink: true, what: 'keyflow home (KEYFLOW_HOME)'})
  return {file: join(settings.home, 'secrets.env'), kind: 'dotenv', name}
}

export interface SetMetadata {
  description?: string
  kmsKeyId?: string
  tags?: Record<string, string>
}

export interface WriteResult {
  arn?: string
  /** Compare-and-swap attempts of a `#key` update on AWS. */
  attempts?: number
  file?: string
  /** The key path set inside a JSON secret, when one was given. */
  key?: string
  line?: number
  name: string
  reference: string
  /** For a bare NAME: the place the chain answers from instead of the one written (the "old password" trap). */
  shadowedBy?: string
  status: 'created' | 'updated'
  target: 'aws' | 'dotenv'
  versionId?: string
}

/**
 * Stores `value` at `reference` (`NAME#key` sets one key of a JSON secret and keeps the others,
 * even against concurrent writers). Bytes go to AWS as SecretBinary.
 */
export async function writeSecret(invocation: Invocation, reference: string, value: string | Uint8Array, metadata: SetMetadata = {}): Promise<WriteResult> {
  return writePlanned(invocation, planWrite(invocation, reference), value, metadata)
}

export interface WritePlan {
  parsed: SecretReference
  place: Place
}

/** Where a write of `reference` would go; bad references and settings fail here, before any value is read. */
export function planWrite(invocation: Invocation, reference: string): WritePlan {
  const parsed = parseReference(reference, invocation.plugins)
  return {parsed, place: placeOf(parsed, invocation.settings)}
}

/** What the place cannot take: AWS-only metadata for a dotenv file, bytes for a dotenv file or a JSON key. */
export function checkWrite({parsed, place}: WritePlan, options: SetMetadata & {binary?: boolean}): void {
  if (place.kind === 'dotenv' && (options.description !== undefined || options.kmsKeyId !== undefined || options.tags)) {
    throw usage('--description, --kms-key-id and --tag apply to AWS secrets only.', 'Drop them, or write to AWS with --to aws.')
  }

  if (options.binary && (place.kind === 'dotenv' || parsed.path.length > 0)) {
    throw new KeyflowError(place.kind === 'dotenv' ? 'A dotenv file cannot hold binary values.' : 'A key of a JSON secret holds text, not bytes.', {
      code: 'BINARY_VALUE',
      exit: ExitCode.BAD_VALUE,
      fix: place.kind === 'dotenv' ? 'Store it in AWS (--to aws --binary), or store it base64-encoded.' : 'Drop --binary, or the #key.',
    })
  }
}

export async function writePlanned(invocation: Invocation, {parsed, place}: WritePlan, value: string | Uint8Array, options: SetMetadata = {}): Promise<WriteResult> {
  const key = parsed.path.length > 0 ? parsed.path.join('.') : undefined
  checkWrite({parsed, place}, {...options, binary: typeof value !== 'string'})

  if (place.kind === 'dotenv') {
    const written = await setDotenvSecret(place.file, place.name, parsed.path, value as string, parsed.text)
    const shadowedBy = await shadowOf(invocation, {parsed, place})
    return {file: place.file, key, line: written.line, name: place.name, reference: parsed.text, shadowedBy, status: written.status, target: 'dotenv'}
  }

  if (value.length === 0) {
    throw new KeyflowError('AWS Secrets Manager cannot hold an empty value (1 to 65,536 bytes); nothing was written.', {
      code: 'EMPTY_VALUE',
      exit: ExitCode.BAD_VALUE,
      fix: 'Give a value, or keep an empty one in a dotenv file (--to dotenv --allow-empty).',
    })
  }

  const session = await openAws(invocation)
  try {
    const tags = options.tags ? Object.entries(options.tags).map(([tagKey, tagValue]) => ({key: tagKey, value: tagValue})) : undefined
    const written: AwsWrite = key
      ? await setAwsJsonKey(session, place.secretId, parsed.path, value as string, parsed.text)
      : await putOrCreate(session, place.secretId, value, {description: options.description, kmsKeyId: options.kmsKeyId, tags})
    await invocation.forgetCached([place.secretId, written.arn])
    const shadowedBy = await shadowOf(invocation, {parsed, place})
    return {arn: written.arn, attempts: written.attempts, key, name: written.name || place.secretId, reference: parsed.text, shadowedBy, status: written.status, target: 'aws', versionId: written.versionId}
  } finally {
    session.sm.destroy()
  }
}

/**
 * Where the chain would answer a bare NAME from, when that is not the place just written: an
 * earlier source (a context or env variable, an earlier dotenv file) that holds the name, or a
 * place the chain does not read at all. Asks only the local sources before the target, never AWS.
 */
async function shadowOf(invocation: Invocation, {parsed, place}: WritePlan): Promise<string | undefined> {
  if (parsed.target.kind !== 'chain') return undefined
  const {chain, settings} = invocation
  const position = chain.order.indexOf(place.kind)
  if (position === -1) return `no source: the chain does not read ${place.kind} (sources ${chain.order.join(',')})`
  if (place.kind === 'dotenv' && !envFiles(settings).some(({path}) => path === place.file)) return `no source: the chain does not read ${place.file} (see --env-file, KEYFLOW_ENV_FILES, envFiles)`
  for (const kind of chain.order.slice(0, position + 1)) {
    if (kind === 'aws') continue
    // eslint-disable-next-line no-await-in-loop
    const [outcome] = await chain.sources[kind].lookup([{direct: false, name: parsed.target.name}])
    if (outcome.kind !== 'hit') continue
    if (place.kind === 'dotenv' && kind === 'dotenv' && outcome.provenance.file === place.file) return undefined
    return describeProvenance(chain.plugins, outcome.provenance)
  }

  return undefined
}

export interface DeleteOptions {
  /** AWS: delete at once, with no way back. */
  forceDeleteWithoutRecovery?: boolean
  /** AWS: days (7 to 30) during which `restoreSecret` can undo the deletion; default 7. */
  recoveryWindowInDays?: number
}

export interface DeleteResult {
  arn?: string
  /** AWS: when the secret will be gone for good. */
  deletionDate?: string
  file?: string
  name: string
  reference: string
  /** dotenv: how many lines set the name (all are removed). */
  removed?: number
  target: 'aws' | 'dotenv'
}

export const DEFAULT_RECOVERY_DAYS = 7

/** Checks AWS's deletion options, with Prefect's messages. */
export function checkDeleteOptions(options: {forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number}): void {
  const days = options.recoveryWindowInDays
  if (options.forceDeleteWithoutRecovery && days) throw usage('Cannot specify recovery window and force delete without recovery.', 'Give one of them.')
  if (days !== undefined && (!Number.isInteger(days) || days < 7 || days > 30)) throw usage(`Recovery window must be between 7 and 30 days, got ${days}.`, 'Give a whole number of days from 7 to 30.')
}

function whole(parsed: SecretReference, verb: string): void {
  if (parsed.path.length > 0) throw usage(`${verb} works on whole secrets, not on a key inside one.`, `Name the secret without #${parsed.path.join('.')}; to drop one key, set the secret without it.`)
}

/** Removes a secret: scheduled deletion on AWS (undone by restoreSecret), the line(s) of a dotenv file. */
export async function deleteSecret(invocation: Invocation, reference: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  const {parsed, place} = planWrite(invocation, reference)
  whole(parsed, 'Deleting')
  checkDeleteOptions(options)
  if (place.kind === 'dotenv') {
    if (options.forceDeleteWithoutRecovery || options.recoveryWindowInDays !== undefined) throw usage('--recovery-days and --force-delete-now apply to AWS secrets only.', 'Drop them: a dotenv line is removed at once.')
    const {removed} = await removeDotenvSecret(place.file, place.name)
    return {file: place.file, name: place.name, reference: parsed.text, removed, target: 'dotenv'}
  }

  const session = await openAws(invocation)
  try {
    const window = options.forceDeleteWithoutRecovery ? {forceDeleteWithoutRecovery: true} : {recoveryWindowInDays: options.recoveryWindowInDays ?? DEFAULT_RECOVERY_DAYS}
    const deleted = await deleteAwsSecretById(session, place.secretId, window)
    await invocation.forgetCached([place.secretId, deleted.arn])
    return {arn: deleted.arn, deletionDate: deleted.deletionDate, name: deleted.name || place.secretId, reference: parsed.text, target: 'aws'}
  } finally {
    session.sm.destroy()
  }
}

function awsPlace(invocation: Invocation, reference: string, verb: string): {parsed: SecretReference; secretId: string} {
  const parsed = parseReference(reference, invocation.plugins)
  whole(parsed, verb)
  const {target} = parsed
  if (target.kind === 'aws') return {parsed, secretId: target.name}
  if (target.kind === 'chain') return {parsed, secretId: invocation.settings.awsPrefix + target.name}
  throw usage(`${verb} applies to AWS secrets only.`, 'Name an AWS secret: NAME (with the configured prefix) or aws-sm://ID.')
}

/** Cancels the scheduled deletion of an AWS secret. */
export async function restoreSecret(invocation: Invocation, reference: string): Promise<{arn: string; name: string; reference: string}> {
  const {parsed, secretId} = awsPlace(invocation, reference, 'Restoring')
  const session = await openAws(invocation)
  try {
    const restored = await restoreAwsSecretById(session, secretId)
    return {arn: restored.arn, name: restored.name || secretId, reference: parsed.text}
  } finally {
    session.sm.destroy()
  }
}

export interface HistoryEntry {
  createdDate?: string
  stages: string[]
  versionId: string
}

/** The versions of an AWS secret, newest first, to pin with ?version-id= or ?stage=. */
export async function secretHistory(invocation: Invocation, reference: string): Promise<{arn: string; deletionDate?: string; name: string; reference: string; versions: HistoryEntry[]}> {
  const {parsed, secretId} = awsPlace(invocation, reference, 'History')
  const session = await openAws(invocation)
  try {
    const {arn, deletedDate, name, versions} = await awsVersions(session, secretId)
    return {
      arn,
      deletionDate: deletedDate?.toISOString(),
      name: name || secretId,
      reference: parsed.text,
      versions: versions.map((version) => ({createdDate: version.createdDate?.toISOString(), stages: version.stages, versionId: version.versionId})),
    }
  } finally {
    session.sm.destroy()
  }
}
