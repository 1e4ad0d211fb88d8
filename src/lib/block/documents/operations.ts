import {ExitCode, KeyflowError} from '../../errors.js'
import {warn} from '../../output/warn.js'
import {BlockContext} from '../context.js'
import {BlockAddress, checkDocumentName, checkSlug, formatAddress, isBlockAddress, parseBlockAddress} from '../names.js'
import {StoreKind} from '../store/store.js'
import {BlockType} from '../types/definition.js'
import {BlockData, blockReferences, hasSealedValues, keepMaskedSecrets, MASK, maskSecrets, merge, sealSecrets} from './fields.js'
import {AskOptions, FieldInputFlags, gatherInput, promptMissing, unsetPath} from './input.js'
import {documentKey, DocumentRecord, notFound, openData, putDocument, readDocument, requireDocument, stampOf, StoredDocument, toDocument} from './records.js'
import {validateData, validationError} from './validate.js'

// Over 300 lines on purpose: create, update, delete, list and inspect share one sequence (load,
// validate the whole document, store with compare-and-swap on the revision read, keep the
// referrer records under the same lock); split, that sequence would be written once per file.

/** Asks the person at the terminal; the CLI gives a real one (src/lib/cli/prompt.ts), libraries none. */
export interface Prompter {
  ask(question: string, options?: AskOptions): Promise<string>
  canPrompt(): boolean
  confirm(question: string): Promise<boolean>
}

/**
 * Block documents: create, update, delete, list, inspect. Each write validates the whole
 * document first, then stores it with compare-and-swap on the revision it read.
 */

export interface WriteResult {
  address: string
  name: string
  revision: number
  status: 'created' | 'replaced' | 'updated'
  type: string
}

const MAX_ATTEMPTS = 25

const isConflict = (error: unknown) => error instanceof KeyflowError && error.code === 'CONFLICT'

const pause = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

async function checkAndSeal(context: BlockContext, type: BlockType, address: string, {data, previous}: {data: BlockData; previous?: BlockData}): Promise<BlockData> {
  const paths = context.registry.secretPaths(type)
  const masked = keepMaskedSecrets(data, previous, paths)
  const violations = [
    ...masked.map((path) => ({message: `is masked (${MASK}) and there is no stored value to keep; give the value`, path})),
    ...(await validateData(context, type, data)),
  ]
  if (violations.length > 0) throw validationError(address, violations)
  // A store that encrypts at rest (KMS) gets the values as they are: any machine allowed to read it can use them.
  return context.store.encryption === 'keyring' ? sealSecrets(data, paths, address, context.keyring) : data
}

/** A new version of a document; who references it (`referrers`) carries over from the one it replaces. */
function recordFor(type: BlockType, address: BlockAddress, data: BlockData, previous?: DocumentRecord): DocumentRecord {
  const now = new Date().toISOString()
  const referrers = previous?.referrers?.length ? {referrers: previous.referrers} : {}
  return {created: previous?.created ?? now, data, kind: 'keyflow/block-document', name: address.name, ...referrers, schema: stampOf(type), type: type.slug, updated: now}
}

export interface CreateOptions extends FieldInputFlags {
  /** Prompt for missing required fields when stdin is a terminal (default true). */
  input?: boolean
  overwrite?: boolean
}

/** The document a create would replace; a corrupt one may be replaced only with --overwrite. */
async function existingFor(context: BlockContext, address: BlockAddress, overwrite: boolean): Promise<{existing?: StoredDocument; unreadable: boolean}> {
  let existing: StoredDocument | undefined
  try {
    existing = await readDocument(context, address)
  } catch (error) {
    if (!overwrite) throw error
    return {unreadable: true}
  }

  if (existing && !overwrite) throw alreadyExists(formatAddress(address))
  return {existing, unreadable: false}
}

export async function createBlock(context: BlockContext, typeSlug: string, name: string, options: CreateOptions): Promise<WriteResult> {
  const address = {name: checkDocumentName(name, 'NAME'), type: checkSlug(typeSlug, 'TYPE')}
  const label = formatAddress(address)
  await context.registry.all()
  const type = await context.registry.get(address.type)
  const {existing, unreadable} = await existingFor(context, address, Boolean(options.overwrite))
  const data = await gatherInput(context, type, options)
  if (options.input !== false && context.prompter.canPrompt() && options['from-file'] !== '-' && !options['stdin-field']) {
    await promptMissing(context, type, data, (question, askOptions) => context.prompter.ask(question, askOptions), async (candidate) => validateData(context, type, candidate))
  }

  const previous = existing && hasSealedValues(existing.record.data) ? openData(context, existing) : existing?.record.data
  const sealed = await checkAndSeal(context, type, label, {data, previous})
  const record = recordFor(type, address, sealed, existing?.record)
  let revision: number
  try {
    revision = await putDocument(context, address, record, unreadable ? undefined : existing ? existing.revision : null)
  } catch (error) {
    if (error instanceof KeyflowError && error.code === 'ALREADY_EXISTS') throw alreadyExists(label)
    throw error
  }

  await pinReferences(context, label, {previous: existing?.record, record, revision})
  return {address: label, name: address.name, revision, status: existing || unreadable ? 'replaced' : 'created', type: type.slug}
}

/**
 * Closes the race between writing a document that references another and deleting that
 * other (docs/blocks.md "References and concurrent deletes"): after the write, each referenced
 * document gets the writer's address in its `referrers` with a compare-and-swap on its
 * revision, and a delete checks `referrers` with a compare-and-swap on the same revision. Of
 * the two, whichever writes second sees the other: the delete then refuses, or the write is
 * undone and fails. Works alike on every store, as it needs only compare-and-swap.
 */
export async function pinReferences(context: BlockContext, label: string, written: {previous?: DocumentRecord; record: DocumentRecord; revision: number}): Promise<void> {
  for (const target of new Set(blockReferences(written.record.data))) {
    const address = parseBlockAddress(target)
    try {
      // eslint-disable-next-line no-await-in-loop
      await pinReference(context, address, label)
    } catch (error) {
      // Whatever stopped the pin (the target deleted, the store failing), the write is undone:
      // a document is saved with its references pinned, or not at all.
      // eslint-disable-next-line no-await-in-loop
      await undoWrite(context, label, written, {cause: error, target})
      throw error
    }
  }
}

async function pinReference(context: BlockContext, address: BlockAddress, label: string): Promise<void> {
  const target = formatAddress(address)
  for (let attempt = 1; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const document = await readDocument(context, address)
    if (!document) throw validationError(label, [{message: `no saved document ${target} (it was deleted while ${label} was written; nothing was saved)`, path: target}])
    const referrers = [...new Set([label, ...(document.record.referrers ?? [])])].sort()
    try {
      // eslint-disable-next-line no-await-in-loop
      await putDocument(context, address, {...document.record, referrers}, document.revision)
      return
    } catch (error) {
      if (!isConflict(error) || attempt >= MAX_ATTEMPTS) throw error
      // eslint-disable-next-line no-await-in-loop
      await pause(Math.random() * 10 * attempt)
    }
  }
}

/** Which call failed at a step (and why: a deadline, a denial), so a partial write is reported exactly. */
const stepReport = (step: string, failed: unknown): string[] =>
  failed instanceof KeyflowError ? [`${step}: ${failed.message}`, ...failed.details.map((detail) => `  ${detail}`)] : [`${step}: the store refused`]

/** Puts back what a write replaced (or removes what it created), so a failed write leaves nothing behind. */
async function undoWrite(context: BlockContext, label: string, {previous, revision}: {previous?: DocumentRecord; revision: number}, {cause, target}: {cause: unknown; target: string}): Promise<void> {
  const address = parseBlockAddress(label)
  try {
    await (previous ? putDocument(context, address, previous, revision) : context.store.delete(documentKey(address), revision, {recoveryDays: 0}));
  } catch (error) {
    const why = cause instanceof KeyflowError ? cause.message.replace(/\.$/, '') : 'the store failed'
    throw new KeyflowError(`${label} was saved (revision ${revision}), but its reference to ${target} could not be recorded (${why}), and undoing the write failed too.`, {
      cause: error,
      code: 'PARTIAL_WRITE',
      details: [...stepReport('reference', cause), ...stepReport('undo', error)],
      exit: cause instanceof KeyflowError ? cause.exit : ExitCode.SOURCE_FAILURE,
      fix: `Check ${label} with \`keyflow block inspect ${label}\`: update it again, or delete it.`,
      where: context.store.where(documentKey(address)),
    })
  }
}

function alreadyExists(label: string): KeyflowError {
  return new KeyflowError(
    `You are attempting to save values with a name that is already in use for this block type: ${label}.`,
    {code: 'ALREADY_EXISTS', exit: ExitCode.CONFLICT, fix: 'Pass --overwrite to replace its values, or `keyflow block update` to change single fields.', where: label},
  )
}

export interface UpdateOptions extends FieldInputFlags {
  unset?: string[]
}

export async function updateBlock(context: BlockContext, target: string, options: UpdateOptions): Promise<WriteResult> {
  const address = parseBlockAddress(target, 'TYPE/NAME')
  const label = formatAddress(address)
  await context.registry.all()
  const type = await context.registry.get(address.type)
  if (!options.field?.length && !options.unset?.length && !options['from-file'] && !options['stdin-field']) {
    throw new KeyflowError('Nothing to update.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Give --field FIELD=VALUE, --unset FIELD, --stdin-field FIELD or --from-file.'})
  }

  await requireDocument(context, address)
  const patch = await gatherInput(context, type, options)
  for (let attempt = 1; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const document = await requireDocument(context, address)
    const current = openData(context, document)
    const base = structuredClone(current)
    for (const path of options.unset ?? []) unsetPath(base, path)
    const data = merge(base, patch)
    // eslint-disable-next-line no-await-in-loop
    const sealed = await checkAndSeal(context, type, label, {data, previous: current})
    const record = recordFor(type, address, sealed, document.record)
    try {
      // eslint-disable-next-line no-await-in-loop
      const revision = await putDocument(context, address, record, document.revision)
      // eslint-disable-next-line no-await-in-loop
      await pinReferences(context, label, {previous: document.record, record, revision})
      return {address: label, name: address.name, revision, status: 'updated', type: type.slug}
    } catch (error) {
      // Another process changed it since it was read: apply the same change to its version.
      if (!isConflict(error) || attempt >= MAX_ATTEMPTS) throw error
      // eslint-disable-next-line no-await-in-loop
      await pause(Math.random() * 10 * attempt)
    }
  }
}

export interface ListedBlock {
  address: string
  name: string
  references: string[]
  revision: number
  type: string
  updated: string
}

export interface Unreadable {
  address: string
  problem: string
  where: string
}

export interface BlockList {
  blocks: ListedBlock[]
  /** Where that store is: a directory, or a region and prefix. */
  location: string
  /** Which store answered. */
  store: StoreKind
  unreadable: Unreadable[]
}

export async function listBlocks(context: BlockContext, options: {type?: string} = {}): Promise<BlockList> {
  const prefix = options.type ? `documents/${checkSlug(options.type, '--type')}/` : 'documents/'
  const blocks: ListedBlock[] = []
  const unreadable: Unreadable[] = []
  const scanned = await context.store.scan(prefix)
  // A store that keeps summaries (aws) answers from the listing alone; the others are read, in one batch.
  const toRead = scanned.filter((entry) => !isListable(entry.summary) || entry.revision === undefined).map((entry) => entry.key)
  const read = new Map((await context.store.getMany(toRead)).map((result) => [result.key, result]))
  // A type nobody registered is a mistake to name, not an empty list (the registry says which types there are).
  if (options.type && scanned.length === 0) await context.registry.get(options.type)
  for (const {key, revision, summary} of scanned) {
    const [, type, name] = key.split('/')
    const address = {name, type}
    const result = read.get(key)
    try {
      if (!result) {
        const listed = summary as {references: string[]; updated: string}
        blocks.push({address: formatAddress(address), name, references: listed.references, revision: revision!, type, updated: listed.updated})
        continue
      }

      if (result.error) throw result.error
      if (!result.record) continue
      const document = toDocument(address, result.record, context.store.where(key))
      blocks.push({address: document.address, name, references: blockReferences(document.record.data), revision: document.revision, type, updated: document.record.updated})
    } catch (error) {
      if (error instanceof KeyflowError && error.exit === ExitCode.SOURCE_FAILURE) throw error
      unreadable.push({address: formatAddress(address), problem: error instanceof KeyflowError ? error.message : 'unreadable', where: context.store.where(key)})
    }
  }

  for (const entry of unreadable) warn(`${entry.address}: ${entry.problem} (${entry.where})`)
  return {blocks, location: context.store.location, store: context.store.kind, unreadable}
}

const isListable = (summary: Record<string, unknown> | undefined): summary is {references: string[]; updated: string} =>
  Array.isArray(summary?.references) && summary.references.every((item) => typeof item === 'string') && typeof summary.updated === 'string'

export interface InspectedBlock {
  address: string
  created: string
  data: BlockData
  name: string
  revealed: boolean
  revision: number
  schema: DocumentRecord['schema']
  secretFields: string[]
  /** Which store answered. */
  store: StoreKind
  type: string
  updated: string
}

export async function inspectBlock(context: BlockContext, target: string, options: {reveal?: boolean} = {}): Promise<InspectedBlock> {
  const address = parseBlockAddress(target, 'TYPE/NAME')
  await context.registry.all()
  const type = await context.registry.get(address.type)
  const document = await requireDocument(context, address)
  const paths = context.registry.secretPaths(type)
  let data: BlockData
  if (options.reveal) {
    data = openData(context, document)
    warn(`--reveal prints the secret values of ${document.address} on stdout. Do not paste or log this output.`)
  } else {
    data = maskSecrets(document.record.data, paths)
  }

  const {created, schema, updated} = document.record
  return {address: document.address, created, data, name: address.name, revealed: Boolean(options.reveal), revision: document.revision, schema, secretFields: paths, store: context.store.kind, type: address.type, updated}
}

/**
 * Documents whose data references `label`: those named in its `referrers` (each read to check
 * it still does) and, for documents written before `referrers` existed, those a scan finds.
 */
export async function referrersOf(context: BlockContext, label: string, named: string[] = []): Promise<string[]> {
  const {blocks} = await listBlocks(context)
  const scanned = blocks.filter((block) => block.references.includes(label)).map((block) => block.address)
  const unlisted = named.filter((address) => !scanned.includes(address) && isBlockAddress(address))
  const keys = unlisted.map((address) => documentKey(parseBlockAddress(address)))
  const confirmed = (await context.store.getMany(keys)).flatMap(({error, record}, index) => {
    // An unreadable referrer may well reference it: it counts.
    if (error) return [unlisted[index]]
    return record && blockReferences(record.value.data).includes(label) ? [unlisted[index]] : []
  })
  return [...new Set([...confirmed, ...scanned])].sort()
}

export interface DeleteOptions {
  force?: boolean
  /** aws store: delete at once, without a recovery window. */
  forceDeleteNow?: boolean
  /** aws store: days before the deletion happens (7-30, default 7), during which `block restore` undoes it. */
  recoveryDays?: number
  yes?: boolean
}

export interface DeleteResult {
  address: string
  deleted: boolean
  /** When the aws store will delete it for good; absent when deleted at once. */
  deletionDate?: string
  referrers: string[]
  store: StoreKind
}

export async function deleteBlock(context: BlockContext, target: string, options: DeleteOptions): Promise<DeleteResult> {
  const address = parseBlockAddress(target, 'TYPE/NAME')
  const label = formatAddress(address)
  const key = documentKey(address)
  const recoveryDays = recoveryDaysFor(context, options)
  let confirmed = Boolean(options.yes)
  for (let attempt = 1; ; attempt++) {
    let document: StoredDocument | undefined
    try {
      // eslint-disable-next-line no-await-in-loop
      document = await readDocument(context, address)
      if (!document) throw new KeyflowError(`Block '${label}' not found!`, {code: 'BLOCK_NOT_FOUND', exit: ExitCode.NOT_FOUND, fix: '`keyflow block ls` lists the saved documents.', where: label})
    } catch (error) {
      // A corrupt document can be removed, but only deliberately.
      if (!(error instanceof KeyflowError) || error.exit !== ExitCode.INTEGRITY || !options.force) throw error
    }

    // eslint-disable-next-line no-await-in-loop
    const referrers = await referrersOf(context, label, document?.record.referrers)
    if (referrers.length > 0 && !options.force) {
      throw new KeyflowError(`${label} is referenced by ${referrers.length} other document${referrers.length > 1 ? 's' : ''}: ${referrers.join(', ')}.`, {
        code: 'BLOCK_REFERENCED',
        details: referrers.map((referrer) => `referenced by ${referrer}`),
        exit: ExitCode.CONFLICT,
        fix: 'Delete or update those documents first, or pass --force to delete anyway (they will then fail to load).',
        where: label,
      })
    }

    if (!confirmed) {
      if (context.prompter.canPrompt()) {
        // eslint-disable-next-line no-await-in-loop
        if (!(await context.prompter.confirm(`Are you sure you want to delete block with slug '${label}'?`))) {
          return {address: label, deleted: false, referrers, store: context.store.kind}
        }
      } else if (!options.force) {
        throw new KeyflowError('Refusing to delete without confirmation: stdin is not a terminal.', {
          code: 'CONFIRMATION_REQUIRED',
          exit: ExitCode.USAGE,
          fix: 'Pass --yes to confirm.',
          where: label,
        })
      }

      confirmed = true
    }

    try {
      // The compare-and-swap on the revision read: a reference pinned since then is a conflict, checked again.
      // eslint-disable-next-line no-await-in-loop
      const {deletionDate} = await context.store.delete(key, document?.revision, {recoveryDays})
      return {address: label, deleted: true, deletionDate, referrers, store: context.store.kind}
    } catch (error) {
      if (!isConflict(error) || attempt >= MAX_ATTEMPTS || !document) throw error
      // eslint-disable-next-line no-await-in-loop
      await pause(Math.random() * 10 * attempt)
    }
  }
}

function recoveryDaysFor(context: BlockContext, options: DeleteOptions): number | undefined {
  const asked = options.forceDeleteNow || options.recoveryDays !== undefined
  if (asked && context.store.kind !== 'aws') {
    throw new KeyflowError('--recovery-days and --force-delete-now apply to the aws store only; the local store deletes at once.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Drop the flag, or pass --store aws.'})
  }

  if (options.forceDeleteNow && options.recoveryDays !== undefined) {
    throw new KeyflowError('--recovery-days and --force-delete-now exclude each other.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Give one of them.'})
  }

  if (options.recoveryDays !== undefined && (!Number.isInteger(options.recoveryDays) || options.recoveryDays < 7 || options.recoveryDays > 30)) {
    throw new KeyflowError(`--recovery-days must be a whole number from 7 to 30 (Secrets Manager's limits), not ${options.recoveryDays}.`, {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Give 7 to 30, or --force-delete-now.'})
  }

  return options.forceDeleteNow ? 0 : (options.recoveryDays ?? 7)
}

/** `block restore TYPE/NAME`: cancels a scheduled deletion on the aws store. */
export async function restoreBlock(context: BlockContext, target: string): Promise<{address: string; revision: number; store: StoreKind}> {
  const address = parseBlockAddress(target, 'TYPE/NAME')
  const label = formatAddress(address)
  if (!context.store.restore) {
    throw new KeyflowError(`The ${context.store.kind} store deletes at once; there is nothing to restore.`, {
      code: 'USAGE',
      exit: ExitCode.USAGE,
      fix: 'Restore the file from a backup; `keyflow block restore` is for documents deleted from the aws store.',
      where: label,
    })
  }

  const revision = await context.store.restore(documentKey(address))
  if (!(await readDocument(context, address))) throw notFound(address)
  return {address: label, revision, store: context.store.kind}
}
