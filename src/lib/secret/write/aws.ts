import {randomBytes} from 'node:crypto'

import type {SecretMetadata, SecretsManagerApi, SecretVersion, WrittenVersion} from '../../aws/secrets-manager.js'

import {awsFailure, AwsOperation, classifyAwsError, credentialsFailure, errorName} from '../../aws/errors.js'
import {ExitCode, KeyflowError} from '../../errors.js'
import {Invocation} from '../../invocation.js'
import {connectAws} from '../sources/aws.js'
import {withJsonKey} from './json-key.js'

/**
 * Writes to AWS Secrets Manager: put-or-create, a compare-and-swap update of one key of a JSON
 * secret, scheduled deletion and its undo, versions and listings. Only names, ARNs and version
 * ids reach errors and results.
 */

export interface AwsSession {
  attempts: number
  region?: string
  sm: SecretsManagerApi
}

export interface AwsWrite {
  arn: string
  /** CAS attempts a `#key` update took (1 unless another writer got in between). */
  attempts?: number
  name: string
  status: 'created' | 'updated'
  versionId?: string
}

/** Connects (through the invocation's client, if it injects one), and fails (rather than quietly missing, as a read does) when AWS is not set up at all. */
export async function openAws(invocation: Invocation): Promise<AwsSession> {
  const {settings} = invocation
  const sm = await connectAws(settings, {connect: invocation.connectSecretsManager})
  const notConfigured = await sm.checkConfigured().catch((error: unknown) => {
    throw credentialsFailure(error, settings.awsProfile, settings.awsRole)
  })
  if (notConfigured) {
    throw new KeyflowError(`AWS Secrets Manager cannot be used: ${notConfigured}.`, {
      code: 'AWS_NOT_CONFIGURED',
      exit: ExitCode.SOURCE_FAILURE,
      fix: 'Configure AWS (--region or AWS_REGION, and credentials), or write to a dotenv file with --to dotenv.',
      where: 'AWS Secrets Manager',
    })
  }

  return {attempts: settings.awsMaxAttempts, region: settings.awsRegion, sm}
}

/** What an AWS failure means for `secretId`; "no such secret" is NOT_FOUND when the secret had to exist. */
export function awsWriteFailure(session: AwsSession, error: unknown, secretId: string, call: {operation: AwsOperation; permissions: string}): KeyflowError {
  if (error instanceof KeyflowError) return error
  if (classifyAwsError(error) === 'not-found') {
    return new KeyflowError(`AWS secret ${JSON.stringify(secretId)} does not exist.`, {
      code: 'SECRET_NOT_FOUND',
      exit: ExitCode.NOT_FOUND,
      fix: '`keyflow secret ls --sources aws` lists the secrets under the configured prefix; check the name and the region.',
      where: `AWS Secrets Manager${session.region ? ` (${session.region})` : ''}`,
    })
  }

  return awsFailure(error, secretId, {...call, attempts: session.attempts, region: session.region})
}

const SET_PERMISSIONS = 'secretsmanager:PutSecretValue, and CreateSecret for a new secret (UpdateSecret with --description or --kms-key-id, TagResource with --tag)'
const KEY_PERMISSIONS = 'secretsmanager:GetSecretValue, PutSecretValue and UpdateSecretVersionStage (CreateSecret for a new secret)'

const isNamed = (error: unknown, name: string) => errorName(error) === name

async function create(session: AwsSession, secretId: string, value: string | Uint8Array, metadata: SecretMetadata): Promise<AwsWrite | undefined> {
  try {
    return {...(await session.sm.create({...metadata, name: secretId, value})), status: 'created'}
  } catch (error) {
    // Another writer created it first: the caller writes a new version instead.
    if (isNamed(error, 'ResourceExistsException')) return undefined
    throw awsWriteFailure(session, error, secretId, {operation: 'CreateSecret', permissions: SET_PERMISSIONS})
  }
}

/**
 * PutSecretValue, or CreateSecret when the secret does not exist (Prefect's write_secret).
 * A description or KMS key for an existing secret goes with the value in one UpdateSecret.
 */
export async function putOrCreate(session: AwsSession, secretId: string, value: string | Uint8Array, metadata: SecretMetadata = {}): Promise<AwsWrite> {
  const {sm} = session
  for (;;) {
    let version: WrittenVersion
    try {
      version =
        metadata.description === undefined && metadata.kmsKeyId === undefined
          ? // eslint-disable-next-line no-await-in-loop
            await sm.put({secretId, value})
          : // eslint-disable-next-line no-await-in-loop
            await sm.update({description: metadata.description, kmsKeyId: metadata.kmsKeyId, secretId, value})
    } catch (error) {
      if (classifyAwsError(error) !== 'not-found') throw awsWriteFailure(session, error, secretId, {operation: metadata.description === undefined && metadata.kmsKeyId === undefined ? 'PutSecretValue' : 'UpdateSecret', permissions: SET_PERMISSIONS})
      // eslint-disable-next-line no-await-in-loop
      const created = await create(session, secretId, value, metadata)
      if (created) return created
      continue
    }

    if (metadata.tags?.length) {
      // eslint-disable-next-line no-await-in-loop
      await sm.tag(secretId, metadata.tags).catch((error: unknown) => {
        throw awsWriteFailure(session, error, secretId, {operation: 'TagResource', permissions: SET_PERMISSIONS})
      })
    }

    return {...version, status: 'updated'}
  }
}

/** How many times a `#key` update re-reads and retries when another writer changed the secret in between. */
export const KEY_UPDATE_ATTEMPTS = 40

const pause = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

/**
 * Sets one key of a JSON secret without losing a concurrent writer's change. Secrets Manager has
 * no conditional put, but moving a staging label is conditional: UpdateSecretVersionStage
 * refuses to move AWSCURRENT from a version it is no longer on. So: read AWSCURRENT (value and
 * version id), write the new JSON as a version that carries only a private label, then move
 * AWSCURRENT from the version read to the new one. If another writer got in between, the move
 * fails, the unused version loses its label (AWS deprecates it), and the update starts again
 * from the other writer's version; after KEY_UPDATE_ATTEMPTS it fails with CONFLICT (exit 7).
 */
export async function setAwsJsonKey(session: AwsSession, secretId: string, path: string[], value: string, label: string): Promise<AwsWrite> {
  const {sm} = session
  const fail = (error: unknown, operation: AwsOperation) => awsWriteFailure(session, error, secretId, {operation, permissions: KEY_PERMISSIONS})
  for (let attempt = 1; attempt <= KEY_UPDATE_ATTEMPTS; attempt++) {
    if (attempt > 1) {
      // eslint-disable-next-line no-await-in-loop
      await pause(Math.random() * Math.min(1000, 10 * 2 ** Math.min(attempt, 7)))
    }

    let current
    try {
      // The stage named, not implied: the compare-and-swap is on the AWSCURRENT label. (moto's
      // implied read also lags behind UpdateSecretVersionStage; AWS's does not.)
      // eslint-disable-next-line no-await-in-loop
      current = await sm.get({secretId, versionStage: 'AWSCURRENT'})
    } catch (error) {
      if (classifyAwsError(error) !== 'not-found') throw fail(error, 'GetSecretValue')
      // eslint-disable-next-line no-await-in-loop
      const created = await create(session, secretId, withJsonKey(undefined, path, value, label), {})
      if (created) return {...created, attempts: attempt}
      continue
    }

    const text = withJsonKey(current.value, path, value, label)
    const pending = `keyflow-pending-${randomBytes(8).toString('hex')}`
    let written: WrittenVersion
    try {
      // eslint-disable-next-line no-await-in-loop
      written = await sm.put({secretId, stages: [pending], value: text})
    } catch (error) {
      throw fail(error, 'PutSecretValue')
    }

    try {
      // eslint-disable-next-line no-await-in-loop
      await sm.moveStage({from: current.versionId, secretId, stage: 'AWSCURRENT', to: written.versionId})
      return {arn: written.arn, attempts: attempt, name: written.name, status: 'updated', versionId: written.versionId}
    } catch (error) {
      // eslint-disable-next-line no-await-in-loop
      if (!(await movedByOther(session, secretId, current.versionId, error))) throw fail(error, 'UpdateSecretVersionStage')
    } finally {
      // eslint-disable-next-line no-await-in-loop
      await sm.moveStage({from: written.versionId, secretId, stage: pending}).catch(() => {})
    }
  }

  throw new KeyflowError(`AWS secret ${JSON.stringify(secretId)} kept changing while key "${path.join('.')}" was being set; nothing was written.`, {
    code: 'CONFLICT',
    exit: ExitCode.CONFLICT,
    fix: 'Another writer is changing it continuously; try again when it stops.',
    where: `AWS Secrets Manager${session.region ? ` (${session.region})` : ''}, secret ${JSON.stringify(secretId)}`,
  })
}

/** Whether a refused stage move means another writer moved AWSCURRENT first (rather than a real failure). */
async function movedByOther(session: AwsSession, secretId: string, readVersion: string | undefined, error: unknown): Promise<boolean> {
  if (classifyAwsError(error) !== 'invalid') return false
  try {
    return (await session.sm.get({secretId, versionStage: 'AWSCURRENT'})).versionId !== readVersion
  } catch {
    return false
  }
}

export interface DeleteOptions {
  forceDeleteWithoutRecovery?: boolean
  recoveryWindowInDays?: number
}

export async function deleteAwsSecretById(session: AwsSession, secretId: string, options: DeleteOptions): Promise<{arn: string; deletionDate?: string; name: string}> {
  try {
    const deleted = await session.sm.delete({...options, secretId})
    return {arn: deleted.arn, deletionDate: deleted.deletionDate?.toISOString(), name: deleted.name}
  } catch (error) {
    throw awsWriteFailure(session, error, secretId, {operation: 'DeleteSecret', permissions: 'secretsmanager:DeleteSecret'})
  }
}

export async function restoreAwsSecretById(session: AwsSession, secretId: string): Promise<{arn: string; name: string}> {
  try {
    const {arn, name} = await session.sm.restore(secretId)
    return {arn, name}
  } catch (error) {
    throw awsWriteFailure(session, error, secretId, {operation: 'RestoreSecret', permissions: 'secretsmanager:RestoreSecret'})
  }
}

const STAGE_ORDER = ['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING']
const stageRank = (version: SecretVersion) => {
  const ranks = version.stages.map((stage) => STAGE_ORDER.indexOf(stage)).filter((rank) => rank !== -1)
  return ranks.length > 0 ? Math.min(...ranks) : version.stages.length > 0 ? STAGE_ORDER.length : STAGE_ORDER.length + 1
}

/**
 * Every version, newest first. CreatedDate has a second's resolution, so versions written in
 * the same second are ordered by stage: AWSCURRENT, then AWSPREVIOUS, then the rest.
 */
export async function awsVersions(session: AwsSession, secretId: string): Promise<{arn: string; deletedDate?: Date; name: string; versions: SecretVersion[]}> {
  try {
    // DescribeSecret first: it says whether the secret is scheduled for deletion (and moto
    // answers ListSecretVersionIds for a missing secret with a 500 instead of "not found").
    const {deletedDate} = await session.sm.describe(secretId)
    const listed = await session.sm.listVersions(secretId)
    const versions = listed.versions
      .map((version, index) => ({index, version}))
      .sort((a, b) => (b.version.createdDate?.getTime() ?? 0) - (a.version.createdDate?.getTime() ?? 0) || stageRank(a.version) - stageRank(b.version) || b.index - a.index)
      .map(({version}) => version)
    return {...listed, deletedDate, versions}
  } catch (error) {
    throw awsWriteFailure(session, error, secretId, {operation: 'ListSecretVersionIds', permissions: 'secretsmanager:DescribeSecret and ListSecretVersionIds'})
  }
}
