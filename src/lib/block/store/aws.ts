import {createHash, randomUUID} from 'node:crypto'

import type {ListedSecret, SecretPayload, SecretsManagerApi} from '../../aws/secrets-manager.js'

import {awsFailure, AwsFailureContext, AwsOperation, classifyAwsError, errorName} from '../../aws/errors.js'
import {ExitCode, KeyflowError} from '../../errors.js'
import {failure, hit, miss, Outcome, SecretSource} from '../../secret/source.js'
import {isPlainObject} from '../../util/json.js'
import {BlockStore, DeleteOptions, DeleteOutcome, OFFLINE_NEEDS_AWS, PutOptions, ReadResult, ScannedRecord, storeConflict, StoredRecord} from './store.js'

// Over 300 lines on purpose: one BlockStore implementation. Its layout (names, descriptions,
// tags), compare-and-swap tokens, tombstones, batched and cached reads all work on the same
// private connection and naming; split, each part would need them passed in.

/**
 * The team store: one AWS Secrets Manager secret per record, so a laptop, a teammate and a CI
 * runner share the same documents (docs/blocks.md "The aws store").
 *
 *   documents/<type>/<name>  ->  <prefix>blocks/<type>/<name>
 *   types/<slug>             ->  <prefix>block-types/<slug>
 *
 * The secret's value is the record exactly as the local store writes its file (revision
 * first, then the record). Its Description holds {"keyflow":1,"revision":N,...summary} so
 * ListSecrets alone can list documents; its tags (set once, at CreateSecret) say the kind and
 * the type, for IAM conditions and filters.
 *
 * Compare-and-swap without a lock: each write of revision N+1 carries the ClientRequestToken
 * derived from (secret name, N+1). Secrets Manager keeps the tokens of a secret's versions, and
 * refuses a second, different version with a token already in use (ResourceExistsException):
 * of two writers that read revision N only the first gets N+1, the other a CONFLICT. A retry
 * of the same request (same token, same bytes) is idempotent. Writes address the secret by the
 * ARN read, so a secret deleted and created again in between is a conflict, not a target.
 *
 * Deletion writes a tombstone as revision N+1 first (the same compare-and-swap), then
 * schedules the deletion: a writer still holding revision N conflicts instead of reviving the
 * document, and a restore brings back the version before the tombstone.
 *
 * Reads of the secrets go through the encrypted cache when it is on (options.cache, the AWS
 * source's rules and entries; docs/blocks.md "Cache and offline"). Writes never rest on it: a
 * revision the cache gave is checked with AWS before the compare-and-swap, and each write runs
 * under the cache's `changing`, which drops the entry it changes.
 */

/** Secrets Manager's limit on a secret value, in bytes. */
const MAX_VALUE_BYTES = 65_536
/** Secrets Manager's limit on a description, in characters. */
const MAX_DESCRIPTION = 2048
/** BatchGetSecretValue takes at most 20 ids per call. */
const BATCH_SIZE = 20
const TOMBSTONE = 'keyflow/tombstone'
export const KIND_TAG = 'keyflow:kind'
export const TYPE_TAG = 'keyflow:type'

export interface AwsStoreOptions {
  attempts: number
  /**
   * Puts the encrypted cache in front of the store's reads of secrets (the composition root's
   * inFrontOfCache: the AWS source's entries, rules and settings); writes go through its `changing`.
   */
  cache?: (reader: SecretSource) => SecretSource
  connect: () => Promise<SecretsManagerApi>
  kmsKeyId?: string
  /** --offline: nothing asks AWS; documents are read from the cache alone, and what must ask AWS (listing, writing) fails saying so. */
  offline?: boolean
  /** Prepended to every secret name, e.g. `keyflow/` or `team-a/keyflow/`. */
  prefix: string
  region?: string
  /** Extra tags for new secrets (cost allocation, IAM conditions). */
  tags?: Record<string, string>
}

/** What a secret holds, as far as the store is concerned. */
type Current =
  | {arn: string; record: StoredRecord; state: 'present'}
  | {arn: string; revision: number; state: 'tombstone'}
  | {deletionDate?: Date; state: 'scheduled'}
  | {state: 'absent'}

/** A UUID-shaped token (36 characters; Secrets Manager wants 32-64) that every writer derives alike. */
export function versionToken(secretName: string, revision: number): string {
  const hex = createHash('sha256').update(`keyflow-block-store\0${secretName}\0${revision}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

const isKind = (error: unknown, name: string) => errorName(error) === name

export class AwsStore implements BlockStore {
  readonly encryption = 'store'
  readonly kind = 'aws'
  readonly location: string
  private api?: Promise<SecretsManagerApi>
  /** The ARN each key was last read at: writes go to that secret and no other. */
  private readonly arns = new Map<string, string>()
  private readonly options: AwsStoreOptions
  /** Keys whose last read was answered by the cache without asking AWS: their revision may be old. */
  private readonly readFromCache = new Set<string>()
  /** Every read of a record's secret: through the cache when it is on. */
  private readonly reads: SecretSource

  constructor(options: AwsStoreOptions) {
    this.options = options
    const reader: SecretSource = {kind: 'aws', lookup: (requests) => this.fetch(requests.map(({name}) => name))}
    this.reads = options.cache ? options.cache(reader) : reader
    this.location = `AWS Secrets Manager${options.region ? ` (${options.region})` : ''}, prefix ${JSON.stringify(options.prefix)}`
  }

  async delete(key: string, expectedRevision?: number, options: DeleteOptions = {}): Promise<DeleteOutcome> {
    return this.changing(key, () => this.deleteSecret(key, expectedRevision, options))
  }

  /**
   * Secrets Manager has no lock to hold: `task` runs as is. What a lock gives the local store,
   * the revision gives here: every write is a compare-and-swap (ClientRequestToken), so a state
   * proved in `task` that another writer changes makes that writer's or our write a CONFLICT.
   */
  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    return task()
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    const [{error, record}] = await this.getMany([key])
    if (error) throw error
    return record
  }

  async getMany(keys: string[]): Promise<ReadResult[]> {
    const outcomes = await this.reads.lookup(keys.map((key) => ({direct: true, name: this.secretName(key)})))
    return outcomes.map((outcome, index): ReadResult => {
      const key = keys[index]
      // Absent and scheduled for deletion both read as "no such record".
      if (outcome.kind === 'miss') return {key}
      if (outcome.kind === 'failure') return {error: outcome.error, key}
      const {cache} = outcome.provenance as {cache?: {state: string}}
      if (cache?.state === 'fresh' || cache?.state === 'stale') this.readFromCache.add(key)
      else this.readFromCache.delete(key)
      try {
        const current = this.parse(key, String(outcome.provenance.arn), outcome.value)
        return {key, record: current.state === 'present' ? current.record : undefined}
      } catch (error) {
        return {error: error as Error, key}
      }
    })
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.scan(prefix)).map(({key}) => key)
  }

  async put(key: string, value: Record<string, unknown>, expectedRevision?: null | number, options: PutOptions = {}): Promise<number> {
    return this.changing(key, () => this.putSecret(key, value, expectedRevision, options))
  }

  async restore(key: string): Promise<number> {
    return this.changing(key, () => this.restoreSecret(key))
  }

  async scan(prefix: string): Promise<ScannedRecord[]> {
    const namePrefix = this.secretName(prefix.replace(/\/$/, ''), true)
    const secrets = await this.listSecrets(namePrefix)
    const records: ScannedRecord[] = []
    for (const secret of secrets) {
      // The name filter is a prefix match on AWS; check it, and skip what is not a keyflow key.
      const key = secret.name.startsWith(namePrefix) ? this.keyOf(secret.name) : undefined
      if (!key) continue
      const summary = summaryOf(secret)
      if (summary?.tombstone) continue
      records.push({key, revision: summary?.revision, summary: summary?.fields})
    }

    return records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  where(key: string): string {
    return `AWS Secrets Manager${this.options.region ? ` (${this.options.region})` : ''}, secret ${JSON.stringify(this.secretName(key))}`
  }

  private absent(name: string): Outcome {
    return miss(`no secret ${JSON.stringify(name)} in ${this.location}`)
  }

  private async call<T>(operation: AwsOperation, secretId: string, task: (sm: SecretsManagerApi) => Promise<T>, passThrough: string[] = []): Promise<T> {
    const sm = await this.connection(operation)
    try {
      return await task(sm)
    } catch (error) {
      if (passThrough.includes(errorName(error))) throw error
      throw awsFailure(error, secretId, this.context(operation))
    }
  }

  /** Runs a write of `key` under the cache's `changing`; its revision is AWS's from then on, not the cache's. */
  private async changing<T>(key: string, write: () => Promise<T>): Promise<T> {
    // Refused before the cache drops anything: offline, the cached document is all there is.
    if (this.options.offline) throw this.offline(`writing ${key.replace(/^(documents|types)\//, '')}`)
    this.readFromCache.delete(key)
    const request = {direct: true, name: this.secretName(key)}
    return this.reads.changing ? this.reads.changing([request], write) : write()
  }

  private conflict(key: string, why: string, code?: string): KeyflowError {
    return storeConflict(key, why, this.where(key), code)
  }

  private async connection(operation: AwsOperation): Promise<SecretsManagerApi> {
    if (this.options.offline) throw this.offline(operation)
    this.api ??= (async () => {
      const sm = await this.options.connect()
      const notConfigured = await sm.checkConfigured()
      if (notConfigured) {
        throw new KeyflowError(`The aws block store cannot be used: ${notConfigured}.`, {
          code: 'AWS_NOT_CONFIGURED',
          exit: ExitCode.SOURCE_FAILURE,
          fix: 'Configure AWS (AWS_REGION and credentials, or --region/--profile), or use --store local.',
          where: this.location,
        })
      }

      return sm
    })()
    return this.api
  }

  private context(operation: AwsOperation): AwsFailureContext {
    return {attempts: this.options.attempts, operation, permissions: `secretsmanager:${operation} on this secret (docs/blocks.md "IAM policies")`, region: this.options.region}
  }

  private async create(key: string, value: Record<string, unknown>, options: PutOptions): Promise<number> {
    const name = this.secretName(key)
    const [kind, type] = key.startsWith('documents/') ? ['block-document', key.split('/')[1]] : ['block-type', key.split('/')[1]]
    try {
      const created = await this.call(
        'CreateSecret',
        name,
        (sm) =>
          sm.create({
            clientRequestToken: versionToken(name, 1),
            description: describe(1, options.summary),
            kmsKeyId: this.options.kmsKeyId,
            name,
            tags: Object.entries({...this.options.tags, [KIND_TAG]: kind, [TYPE_TAG]: type}).map(([tagKey, tagValue]) => ({key: tagKey, value: tagValue})),
            value: this.serialize(key, 1, value),
          }),
        ['ResourceExistsException'],
      )
      this.arns.set(key, created.arn)
      return 1
    } catch (error) {
      if (!isKind(error, 'ResourceExistsException')) throw error
    }

    // The name is taken: by a document (a conflict), by a tombstone (a deleted document whose
    // secret was never scheduled for deletion: write over it), or by a scheduled deletion.
    const current = await this.current(key)
    if (current.state === 'scheduled') throw this.scheduled(key, current.deletionDate)
    if (current.state !== 'tombstone') throw this.conflict(key, 'it already exists', 'ALREADY_EXISTS')
    await this.write(key, 'UpdateSecret', {arn: current.arn, exists: true, revision: current.revision + 1, summary: options.summary, value})
    return current.revision + 1
  }

  private async current(key: string, {lenient = false} = {}): Promise<Current> {
    const name = this.secretName(key)
    let payload
    try {
      payload = await this.call('GetSecretValue', name, (sm) => sm.get({secretId: name}), ['ResourceNotFoundException', 'InvalidRequestException'])
    } catch (error) {
      if (error instanceof KeyflowError) throw error
      if (isKind(error, 'ResourceNotFoundException')) return {state: 'absent'}
      // InvalidRequestException on a read: the secret is scheduled for deletion.
      const found = await this.call('DescribeSecret', name, (sm) => sm.describe(name)).catch(() => {})
      return {deletionDate: found?.deletedDate, state: 'scheduled'}
    }

    try {
      return this.parse(key, payload.arn, payload.value)
    } catch (error) {
      if (!lenient) throw error
      const revision = revisionFromText(typeof payload.value === 'string' ? payload.value : '')
      return {arn: payload.arn, revision, state: 'tombstone'}
    }
  }

  private async currentArn(key: string): Promise<string> {
    const current = await this.current(key)
    if (current.state === 'present' || current.state === 'tombstone') return current.arn
    throw this.conflict(key, current.state === 'scheduled' ? 'it is scheduled for deletion' : 'another process deleted it')
  }

  /**
   * The ARN to write revision `expectedRevision + 1` to, after checking with AWS that the record
   * still has the revision the cache gave: a compare-and-swap never rests on a cached read.
   */
  private async currentArnAt(key: string, expectedRevision: number): Promise<string> {
    const current = await this.current(key)
    if (current.state === 'present' && current.record.revision === expectedRevision) return current.arn
    throw this.conflict(key, current.state === 'present' ? 'another process changed it' : current.state === 'scheduled' ? 'it is scheduled for deletion' : 'another process deleted it')
  }

  private async deleteSecret(key: string, expectedRevision: number | undefined, options: DeleteOptions): Promise<DeleteOutcome> {
    const name = this.secretName(key)
    let secretId = this.arns.get(key) ?? name
    if (expectedRevision !== undefined) {
      // The tombstone takes revision N+1 for itself: no writer that read N can write after it.
      const current = await this.current(key)
      if (current.state !== 'present') throw this.conflict(key, 'it no longer exists')
      if (current.record.revision !== expectedRevision) throw this.conflict(key, 'another process changed it')
      secretId = current.arn
      await this.write(key, 'UpdateSecret', {arn: current.arn, revision: expectedRevision + 1, value: {kind: TOMBSTONE}})
    }

    const recoveryDays = options.recoveryDays ?? 7
    let deletionDate: Date | undefined
    try {
      ;({deletionDate} = await this.call('DeleteSecret', name, (sm) => sm.delete(recoveryDays === 0 ? {forceDeleteWithoutRecovery: true, secretId} : {recoveryWindowInDays: recoveryDays, secretId})))
    } catch (error) {
      if (expectedRevision === undefined || !(error instanceof KeyflowError)) throw error
      throw partialDelete(key, name, expectedRevision + 1, error)
    }

    this.arns.delete(key)
    return {deletionDate: recoveryDays === 0 ? undefined : deletionDate?.toISOString()}
  }

  /**
   * The secrets' current values from AWS: 20 names a BatchGetSecretValue, the batches in
   * parallel; a lone name, or a caller not allowed to batch, with GetSecretValue. Absent and
   * scheduled for deletion are misses; anything else that fails is that name's failure (the
   * cache serves a stale value for a transient one).
   */
  private async fetch(names: string[]): Promise<Outcome[]> {
    const sm = await this.connection(names.length === 1 ? 'GetSecretValue' : 'BatchGetSecretValue')
    const outcomes = new Map<string, Outcome>()
    const found = (payload: SecretPayload): Outcome =>
      hit(payload.value, {arn: payload.arn, name: payload.name, source: 'aws', versionId: payload.versionId, versionStages: payload.versionStages})
    const getOne = async (name: string): Promise<Outcome> => {
      try {
        return found(await sm.get({secretId: name}))
      } catch (error) {
        const kind = classifyAwsError(error)
        // InvalidRequestException on a read: the secret is scheduled for deletion.
        return kind === 'not-found' || kind === 'deleted' || isKind(error, 'InvalidRequestException') ? this.absent(name) : failure(awsFailure(error, name, this.context('GetSecretValue')))
      }
    }

    const unique = [...new Set(names)]
    const chunks = Array.from({length: Math.ceil(unique.length / BATCH_SIZE)}, (_, index) => unique.slice(index * BATCH_SIZE, (index + 1) * BATCH_SIZE))
    await Promise.all(
      chunks.map(async (chunk) => {
        if (chunk.length === 1) {
          outcomes.set(chunk[0], await getOne(chunk[0]))
          return
        }

        let batch
        try {
          batch = await sm.batchGet(chunk)
        } catch (error) {
          // A caller allowed GetSecretValue but not BatchGetSecretValue still gets its records.
          if (classifyAwsError(error) === 'denied') await Promise.all(chunk.map(async (name) => outcomes.set(name, await getOne(name))))
          else for (const name of chunk) outcomes.set(name, failure(awsFailure(error, name, this.context('BatchGetSecretValue'))))
          return
        }

        for (const value of batch.values) outcomes.set(value.name, found(value))
        for (const entry of batch.errors) {
          const error = Object.assign(new Error(entry.error.message ?? ''), {$fault: 'client', name: entry.error.name})
          const kind = classifyAwsError(error)
          outcomes.set(entry.secretId, kind === 'not-found' || kind === 'deleted' ? this.absent(entry.secretId) : failure(awsFailure(error, entry.secretId, this.context('BatchGetSecretValue'))))
        }
      }),
    )
    return names.map((name) => outcomes.get(name) ?? this.absent(name))
  }

  /** The store key a secret's name maps to; undefined for a secret that is not a keyflow record. */
  private keyOf(name: string): string | undefined {
    const rest = name.slice(this.options.prefix.length)
    if (!name.startsWith(this.options.prefix)) return undefined
    if (rest.startsWith('blocks/') && rest.split('/').length === 3) return `documents/${rest.slice('blocks/'.length)}`
    if (rest.startsWith('block-types/') && rest.split('/').length === 2) return `types/${rest.slice('block-types/'.length)}`
    return undefined
  }

  /** Every secret whose name starts with `namePrefix` (a prefix match on AWS), paged through. */
  private async listSecrets(namePrefix: string, includePlannedDeletion?: boolean): Promise<ListedSecret[]> {
    const secrets: ListedSecret[] = []
    let nextToken: string | undefined
    do {
      // eslint-disable-next-line no-await-in-loop
      const page = await this.call('ListSecrets', namePrefix, (sm) => sm.listPage({includePlannedDeletion, namePrefix, nextToken}))
      secrets.push(...page.secrets)
      nextToken = page.nextToken
    } while (nextToken)

    return secrets
  }

  private notScheduled(key: string, why: string): KeyflowError {
    return new KeyflowError(`Cannot restore ${key.replace(/^documents\//, '')}: ${why}.`, {
      code: 'NOT_SCHEDULED_FOR_DELETION',
      exit: ExitCode.NOT_FOUND,
      fix: 'Only a document deleted with a recovery window can be restored, within that window.',
      where: this.where(key),
    })
  }

  /** What must ask AWS (`what`: a call, or a write), refused under --offline. */
  private offline(what: string): KeyflowError {
    return new KeyflowError(`Offline, and ${what} must ask AWS: offline, the aws block store only reads documents from the cache.`, {
      code: OFFLINE_NEEDS_AWS,
      exit: ExitCode.SOURCE_FAILURE,
      fix: 'Run it online (drop --offline / KEYFLOW_OFFLINE): listing needs ListSecrets, and writing needs Secrets Manager itself.',
      where: this.location,
    })
  }

  private parse(key: string, arn: string, raw: string | Uint8Array): Current {
    const where = this.where(key)
    const text = typeof raw === 'string' ? raw : ''
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw corrupt(where, 'its value is not valid JSON')
    }

    if (!isPlainObject(value)) throw corrupt(where, 'its value is not a JSON object')
    const {revision, ...rest} = value
    if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1) throw corrupt(where, 'it has no valid revision')
    this.arns.set(key, arn)
    if (rest.kind === TOMBSTONE) return {arn, revision, state: 'tombstone'}
    return {arn, record: {revision, value: rest}, state: 'present'}
  }

  private async putSecret(key: string, value: Record<string, unknown>, expectedRevision: null | number | undefined, options: PutOptions): Promise<number> {
    // No lock to run it under: just before the conditional write, which still fails if another writer got in first.
    options.guard?.()
    if (expectedRevision === null) return this.create(key, value, options)
    if (typeof expectedRevision === 'number') {
      const arn = this.readFromCache.has(key) ? await this.currentArnAt(key, expectedRevision) : (this.arns.get(key) ?? (await this.currentArn(key)))
      await this.write(key, 'UpdateSecret', {arn, revision: expectedRevision + 1, summary: options.summary, value})
      return expectedRevision + 1
    }

    // Unconditional: replaces whatever is there (a corrupt record, with --overwrite).
    const current = await this.current(key, {lenient: true})
    if (current.state === 'absent') return this.create(key, value, options)
    if (current.state === 'scheduled') throw this.scheduled(key, current.deletionDate)
    const revision = (current.state === 'present' ? current.record.revision : current.revision) + 1
    await this.write(key, 'UpdateSecret', {arn: current.arn, revision, summary: options.summary, token: randomUUID(), value})
    return revision
  }

  private async restoreSecret(key: string): Promise<number> {
    const name = this.secretName(key)
    const [found] = await this.listSecrets(name, true).then((secrets) => secrets.filter((secret) => secret.name === name))
    if (!found) throw this.notScheduled(key, 'there is no such secret')
    if (!found.deletedDate) throw this.notScheduled(key, 'it is not scheduled for deletion')
    await this.call('RestoreSecret', name, (sm) => sm.restore(found.arn))
    const current = await this.current(key)
    if (current.state === 'present') return current.record.revision
    if (current.state !== 'tombstone') throw this.notScheduled(key, 'it could not be read after the restore')
    // The version before the tombstone is the document as it was when it was deleted.
    const previous = await this.call('GetSecretValue', name, (sm) => sm.get({secretId: current.arn, versionStage: 'AWSPREVIOUS'}))
    const before = this.parse(key, current.arn, previous.value)
    if (before.state !== 'present') throw this.notScheduled(key, 'the version before its deletion is not a document')
    const revision = current.revision + 1
    await this.write(key, 'UpdateSecret', {arn: current.arn, revision, value: before.record.value})
    return revision
  }

  private scheduled(key: string, deletionDate?: Date): KeyflowError {
    const address = key.replace(/^(documents|types)\//, '')
    return new KeyflowError(`Cannot write ${address}: its secret is scheduled for deletion${deletionDate ? ` on ${deletionDate.toISOString()}` : ''}.`, {
      code: 'SCHEDULED_FOR_DELETION',
      exit: ExitCode.CONFLICT,
      fix: `Restore it with \`keyflow block restore ${address}\`, or delete it at once with \`keyflow block delete ${address} --force-delete-now\` and create it again.`,
      where: this.where(key),
    })
  }

  private secretName(key: string, allowPartial = false): string {
    const [area, ...rest] = key.split('/')
    const mapped = area === 'documents' ? 'blocks' : area === 'types' ? 'block-types' : undefined
    if (!mapped || (!allowPartial && rest.length === 0)) {
      throw new KeyflowError(`Invalid store key ${JSON.stringify(key)}.`, {code: 'INTERNAL', exit: ExitCode.INTERNAL})
    }

    return `${this.options.prefix}${[mapped, ...rest].join('/')}${allowPartial ? '/' : ''}`
  }

  private serialize(key: string, revision: number, value: Record<string, unknown>): string {
    const text = JSON.stringify({revision, ...value}, null, 2) + '\n'
    const bytes = Buffer.byteLength(text)
    if (bytes > MAX_VALUE_BYTES) {
      throw new KeyflowError(`The record is ${bytes} bytes; a Secrets Manager secret holds at most ${MAX_VALUE_BYTES}.`, {
        code: 'RECORD_TOO_LARGE',
        exit: ExitCode.VALIDATION,
        fix: 'Split the document, e.g. move nested documents into their own and reference them.',
        where: this.where(key),
      })
    }

    return text
  }

  /** Writes revision `revision` with the token every writer derives for it: the compare-and-swap. */
  private async write(
    key: string,
    operation: AwsOperation,
    {arn, exists, revision, summary, token, value}: {arn: string; exists?: boolean; revision: number; summary?: Record<string, unknown>; token?: string; value: Record<string, unknown>},
  ): Promise<void> {
    const name = this.secretName(key)
    try {
      await this.call(
        operation,
        name,
        (sm) => sm.update({clientRequestToken: token ?? versionToken(name, revision), description: describe(revision, value.kind === TOMBSTONE ? {tombstone: true} : summary), secretId: arn, value: this.serialize(key, revision, value)}),
        ['ResourceExistsException', 'ResourceNotFoundException', 'InvalidRequestException'],
      )
    } catch (error) {
      if (error instanceof KeyflowError) throw error
      if (isKind(error, 'ResourceExistsException')) throw exists ? this.conflict(key, 'it already exists', 'ALREADY_EXISTS') : this.conflict(key, 'another process changed it')
      if (isKind(error, 'ResourceNotFoundException')) throw this.conflict(key, 'another process deleted it')
      throw this.scheduled(key)
    }
  }
}

/**
 * The tombstone was written but DeleteSecret failed (a deadline, a denial): the document no
 * longer loads or lists, while its secret stays, not scheduled for deletion, its previous
 * version still holding the document. Said exactly, with both ways on.
 */
function partialDelete(key: string, secretName: string, tombstoneRevision: number, error: KeyflowError): KeyflowError {
  const address = key.replace(/^documents\//, '')
  return new KeyflowError(`${address} was marked deleted (a tombstone, revision ${tombstoneRevision}: it no longer loads or lists), but its secret could not be deleted: ${error.message.replace(/\.$/, '')}.`, {
    cause: error,
    code: 'PARTIAL_DELETE',
    details: [...error.details, `the secret ${secretName} remains, not scheduled for deletion; its previous version (AWSPREVIOUS) still holds the document`],
    exit: error.exit,
    fix: `Finish the deletion with \`aws secretsmanager delete-secret --secret-id ${secretName} --recovery-window-in-days 7\`, or save the name again (\`keyflow block create\` writes over the tombstone).`,
    where: error.where,
  })
}

function corrupt(where: string, problem: string): KeyflowError {
  return new KeyflowError(`The block store record is corrupt: ${problem}.`, {
    code: 'STORE_CORRUPT',
    exit: ExitCode.INTEGRITY,
    fix: 'Restore an earlier version of the secret (aws secretsmanager list-secret-version-ids), or delete the document (keyflow block delete --force) and create it again.',
    where,
  })
}

/** The Description written with each version; without the summary when it would not fit. */
function describe(revision: number, summary: Record<string, unknown> = {}): string {
  const full = JSON.stringify({keyflow: 1, revision, ...summary})
  return full.length <= MAX_DESCRIPTION ? full : JSON.stringify({keyflow: 1, partial: true, revision})
}

function summaryOf(secret: ListedSecret): undefined | {fields?: Record<string, unknown>; revision?: number; tombstone: boolean} {
  try {
    const parsed: unknown = JSON.parse(secret.description ?? '')
    if (!isPlainObject(parsed) || parsed.keyflow !== 1) return undefined
    const {partial, revision, tombstone, ...fields} = parsed
    delete fields.keyflow
    return {fields: partial ? undefined : fields, revision: typeof revision === 'number' ? revision : undefined, tombstone: tombstone === true}
  } catch {
    return undefined
  }
}

function revisionFromText(text: string): number {
  const match = /"revision"\s*:\s*(\d+)/.exec(text)
  return match ? Number(match[1]) : 0
}
