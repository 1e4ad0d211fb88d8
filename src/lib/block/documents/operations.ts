import {ExitCode, KeyflowError} from '../../errors.js'
import {warn} from '../../output/warn.js'
import {BlockContext} from '../context.js'
import {BlockAddress, checkDocumentName, checkSlug, formatAddress, parseBlockAddress} from '../names.js'
import {BlockType} from '../types/definition.js'
import {BlockData, blockReferences, hasSealedValues, keepMaskedSecrets, MASK, maskSecrets, merge, sealSecrets} from './fields.js'
import {AskOptions, FieldInputFlags, gatherInput, promptMissing, unsetPath} from './input.js'
import {documentKey, DocumentRecord, openData, readDocument, requireDocument, stampOf, StoredDocument, toDocument} from './records.js'
import {validateData, validationError} from './validate.js'

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
  return sealSecrets(data, paths, address, context.keyring)
}

function recordFor(type: BlockType, address: BlockAddress, data: BlockData, created?: string): DocumentRecord {
  const now = new Date().toISOString()
  return {created: created ?? now, data, kind: 'keyflow/block-document', name: address.name, schema: stampOf(type), type: type.slug, updated: now}
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
  const data = await gatherInput(context.registry, type, options)
  if (options.input !== false && context.prompter.canPrompt() && options['from-file'] !== '-' && !options['stdin-field']) {
    await promptMissing(context.registry, type, data, (question, askOptions) => context.prompter.ask(question, askOptions), async (candidate) => validateData(context, type, candidate))
  }

  const previous = existing && hasSealedValues(existing.record.data) ? openData(context, existing) : existing?.record.data
  const sealed = await checkAndSeal(context, type, label, {data, previous})
  try {
    const revision = await context.store.put(
      documentKey(address),
      recordFor(type, address, sealed, existing?.record.created) as unknown as Record<string, unknown>,
      unreadable ? undefined : existing ? existing.revision : null,
    )
    return {address: label, name: address.name, revision, status: existing || unreadable ? 'replaced' : 'created', type: type.slug}
  } catch (error) {
    if (error instanceof KeyflowError && error.code === 'ALREADY_EXISTS') throw alreadyExists(label)
    throw error
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
  const patch = await gatherInput(context.registry, type, options)
  for (let attempt = 1; ; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const document = await requireDocument(context, address)
    const current = openData(context, document)
    const base = structuredClone(current)
    for (const path of options.unset ?? []) unsetPath(base, path)
    const data = merge(base, patch)
    // eslint-disable-next-line no-await-in-loop
    const sealed = await checkAndSeal(context, type, label, {data, previous: current})
    try {
      // eslint-disable-next-line no-await-in-loop
      const revision = await context.store.put(documentKey(address), recordFor(type, address, sealed, document.record.created) as unknown as Record<string, unknown>, document.revision)
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

export async function listBlocks(context: BlockContext, options: {type?: string} = {}): Promise<{blocks: ListedBlock[]; unreadable: Unreadable[]}> {
  const prefix = options.type ? `documents/${checkSlug(options.type, '--type')}/` : 'documents/'
  const blocks: ListedBlock[] = []
  const unreadable: Unreadable[] = []
  const keys = await context.store.list(prefix)
  // A type nobody registered is a mistake to name, not an empty list (the registry says which types there are).
  if (options.type && keys.length === 0) await context.registry.get(options.type)
  for (const key of keys) {
    const [, type, name] = key.split('/')
    const address = {name, type}
    try {
      // eslint-disable-next-line no-await-in-loop
      const stored = await context.store.get(key)
      if (!stored) continue
      const document = toDocument(address, stored, context.store.where(key))
      blocks.push({address: document.address, name, references: blockReferences(document.record.data), revision: document.revision, type, updated: document.record.updated})
    } catch (error) {
      unreadable.push({address: formatAddress(address), problem: error instanceof KeyflowError ? error.message : 'unreadable', where: context.store.where(key)})
    }
  }

  for (const entry of unreadable) warn(`${entry.address}: ${entry.problem} (${entry.where})`)
  return {blocks, unreadable}
}

export interface InspectedBlock {
  address: string
  created: string
  data: BlockData
  name: string
  revealed: boolean
  revision: number
  schema: DocumentRecord['schema']
  secretFields: string[]
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
  return {address: document.address, created, data, name: address.name, revealed: Boolean(options.reveal), revision: document.revision, schema, secretFields: paths, type: address.type, updated}
}

/** Documents whose data references `label`, found by scanning the store. */
export async function referrersOf(context: BlockContext, label: string): Promise<string[]> {
  const {blocks} = await listBlocks(context)
  return blocks.filter((block) => block.references.includes(label)).map((block) => block.address)
}

export interface DeleteOptions {
  force?: boolean
  yes?: boolean
}

export async function deleteBlock(context: BlockContext, target: string, options: DeleteOptions): Promise<{address: string; deleted: boolean; referrers: string[]}> {
  const address = parseBlockAddress(target, 'TYPE/NAME')
  const label = formatAddress(address)
  const key = documentKey(address)
  let revision: number | undefined
  try {
    const document = await readDocument(context, address)
    if (!document) throw new KeyflowError(`Block '${label}' not found!`, {code: 'BLOCK_NOT_FOUND', exit: ExitCode.NOT_FOUND, fix: '`keyflow block ls` lists the saved documents.', where: label})
    revision = document.revision
  } catch (error) {
    // A corrupt document can be removed, but only deliberately.
    if (!(error instanceof KeyflowError) || error.exit !== ExitCode.INTEGRITY || !options.force) throw error
  }

  const referrers = await referrersOf(context, label)
  if (referrers.length > 0 && !options.force) {
    throw new KeyflowError(`${label} is referenced by ${referrers.length} other document${referrers.length > 1 ? 's' : ''}: ${referrers.join(', ')}.`, {
      code: 'BLOCK_REFERENCED',
      details: referrers.map((referrer) => `referenced by ${referrer}`),
      exit: ExitCode.CONFLICT,
      fix: 'Delete or update those documents first, or pass --force to delete anyway (they will then fail to load).',
      where: label,
    })
  }

  if (!options.yes) {
    if (context.prompter.canPrompt()) {
      if (!(await context.prompter.confirm(`Are you sure you want to delete block with slug '${label}'?`))) {
        return {address: label, deleted: false, referrers}
      }
    } else if (!options.force) {
      throw new KeyflowError('Refusing to delete without confirmation: stdin is not a terminal.', {
        code: 'CONFIRMATION_REQUIRED',
        exit: ExitCode.USAGE,
        fix: 'Pass --yes to confirm.',
        where: label,
      })
    }
  }

  await context.store.delete(key, revision)
  return {address: label, deleted: true, referrers}
}
