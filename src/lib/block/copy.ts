import {ExitCode, KeyflowError} from '../errors.js'
import {BlockContext} from './context.js'
import {blockReferences, sealSecrets} from './documents/fields.js'
import {pinReferences} from './documents/operations.js'
import {documentKey, DocumentRecord, openData, putDocument, stampOf, StoredDocument, toDocument} from './documents/records.js'
import {validateData, validationError} from './documents/validate.js'
import {checkSlug, formatAddress, isBlockAddress, parseBlockAddress} from './names.js'
import {StoreKind} from './store/store.js'
import {pythonJson} from './types/canonical.js'
import {BlockType} from './types/definition.js'

/**
 * `keyflow block copy FROM TO [WHAT]`: documents, the documents they reference and the
 * registered types they need, from one store to the other. Secret values go from memory to
 * memory: opened with the source's key (or as the aws store holds them), sealed for the
 * destination. A document whose type and data the destination already holds is left alone,
 * so running it again changes nothing; `dryRun` reports what would change without writing.
 */

export type CopyStatus = 'created' | 'unchanged' | 'updated'

export interface CopyResult {
  documents: Array<{address: string; status: CopyStatus}>
  dryRun: boolean
  from: StoreKind
  to: StoreKind
  types: Array<{slug: string; status: CopyStatus}>
}

/** `TYPE/NAME`, `TYPE`, or undefined for everything. */
async function selectKeys(from: BlockContext, what: string | undefined): Promise<string[]> {
  if (what === undefined) return from.store.list('documents/')
  if (what.includes('/')) return [documentKey(parseBlockAddress(what, 'WHAT'))]
  return from.store.list(`documents/${checkSlug(what, 'WHAT')}/`)
}

/** The selected documents and, transitively, every document they reference, read in one batch per level. */
async function readClosure(from: BlockContext, keys: string[]): Promise<StoredDocument[]> {
  const documents = new Map<string, StoredDocument>()
  let level = keys
  while (level.length > 0) {
    const next = new Set<string>()
    // eslint-disable-next-line no-await-in-loop
    for (const {error, key, record} of await from.store.getMany(level)) {
      if (error) throw error
      const [, type, name] = key.split('/')
      if (!record) throw missing(formatAddress({name, type}), from)
      const document = toDocument({name, type}, record, from.store.where(key))
      documents.set(key, document)
      for (const reference of blockReferences(document.record.data)) {
        if (!isBlockAddress(reference)) continue
        const referenced = documentKey(parseBlockAddress(reference))
        if (!documents.has(referenced)) next.add(referenced)
      }
    }

    level = [...next].filter((key) => !documents.has(key))
  }

  return [...documents.values()]
}

function missing(address: string, from: BlockContext): KeyflowError {
  return new KeyflowError(`Unable to find block document ${address} in the ${from.store.kind} store.`, {
    code: 'BLOCK_NOT_FOUND',
    exit: ExitCode.NOT_FOUND,
    fix: `\`keyflow block ls --store ${from.store.kind}\` lists its documents.`,
    where: from.store.location,
  })
}

/** Referenced documents before those that reference them, so each write finds its references. */
function dependencyOrder(documents: StoredDocument[]): StoredDocument[] {
  const byAddress = new Map(documents.map((document) => [document.address, document]))
  const ordered: StoredDocument[] = []
  const visiting = new Set<string>()
  const visit = (document: StoredDocument) => {
    if (ordered.includes(document) || visiting.has(document.address)) return
    visiting.add(document.address)
    for (const reference of blockReferences(document.record.data)) {
      const referenced = byAddress.get(reference)
      if (referenced) visit(referenced)
    }

    ordered.push(document)
  }

  for (const document of [...documents].sort((a, b) => (a.address < b.address ? -1 : 1))) visit(document)
  return ordered
}

/** The registered (not built-in) types the documents need, nested block types included. */
async function neededTypes(from: BlockContext, documents: StoredDocument[]): Promise<BlockType[]> {
  const needed = new Map<string, BlockType>()
  const add = async (slug: string) => {
    if (needed.has(slug)) return
    const type = await from.registry.get(slug)
    if (type.builtin) return
    needed.set(slug, type)
    // eslint-disable-next-line no-await-in-loop -- nested types, one level at a time
    for (const nested of Object.values(type.references)) await add(nested)
  }

  // eslint-disable-next-line no-await-in-loop -- the registry loads once; later calls are lookups
  for (const document of documents) await add(document.record.type)
  return [...needed.values()]
}

const definitionOf = (type: BlockType) => ({
  description: type.description,
  documentationUrl: type.documentationUrl,
  fields: type.fields,
  name: type.name,
  secretFields: type.secretFields,
  slug: type.slug,
  version: type.version,
})

export async function copyBlocks(from: BlockContext, to: BlockContext, options: {dryRun?: boolean; what?: string}): Promise<CopyResult> {
  if (from.store.kind === to.store.kind && from.store.location === to.store.location) {
    throw new KeyflowError(`FROM and TO are the same store (${from.store.location}).`, {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Copy between local and aws, e.g. `keyflow block copy local aws`.'})
  }

  const dryRun = Boolean(options.dryRun)
  const documents = dependencyOrder(await readClosure(from, await selectKeys(from, options.what)))
  const types = await neededTypes(from, documents)

  const typeResults: CopyResult['types'] = []
  for (const type of types) {
    // eslint-disable-next-line no-await-in-loop
    const existing = await to.registry.get(type.slug).catch(() => {})
    const status: CopyStatus = existing ? existing.checksum === type.checksum && existing.version === type.version ? 'unchanged' : 'updated' : 'created'
    typeResults.push({slug: type.slug, status})
  }

  const changedTypes = types.filter((_, index) => typeResults[index].status !== 'unchanged')
  if (!dryRun && changedTypes.length > 0) await to.registry.register(changedTypes.map((type) => definitionOf(type)), `${from.store.kind} store`)

  const existing = new Map((await to.store.getMany(documents.map((document) => documentKey(parseBlockAddress(document.address))))).map((result) => [result.key, result]))
  const plans = documents.map((document) => {
    const address = parseBlockAddress(document.address)
    const key = documentKey(address)
    const data = openData(from, document)
    const current = existing.get(key)
    if (current?.error) throw current.error
    const target = current?.record ? toDocument(address, current.record, to.store.where(key)) : undefined
    const same = target && target.record.schema.checksum === document.record.schema.checksum && pythonJson(openData(to, target)) === pythonJson(data)
    const status: CopyStatus = same ? 'unchanged' : target ? 'updated' : 'created'
    return {data, document, status, target}
  })

  if (!dryRun) {
    // A level's documents reference only earlier levels: each level is written in parallel.
    for (const level of dependencyLevels(plans.filter((plan) => plan.status !== 'unchanged').map((plan) => plan.document))) {
      const inLevel = plans.filter((plan) => level.has(plan.document.address))
      // eslint-disable-next-line no-await-in-loop
      await inParallel(inLevel, WRITE_CONCURRENCY, (plan) => writeCopy(to, plan.document, plan))
    }
  }

  return {documents: plans.map(({document, status}) => ({address: document.address, status})), dryRun, from: from.store.kind, to: to.store.kind, types: typeResults}
}

/** Writes in flight at once: AWS allows 50 PutSecretValue a second, and each write is one call. */
const WRITE_CONCURRENCY = 10

/** The documents by depth: those referencing none of the others first, then those referencing only the first, and so on. */
function dependencyLevels(documents: StoredDocument[]): Array<Set<string>> {
  const byAddress = new Map(documents.map((document) => [document.address, document]))
  const depth = new Map<string, number>()
  const depthOf = (document: StoredDocument, seen: Set<string>): number => {
    const known = depth.get(document.address)
    if (known !== undefined) return known
    const references = blockReferences(document.record.data).flatMap((reference) => {
      const referenced = byAddress.get(reference)
      return referenced && !seen.has(reference) ? [referenced] : []
    })
    const value = references.length === 0 ? 0 : 1 + Math.max(...references.map((referenced) => depthOf(referenced, new Set([document.address, ...seen]))))
    depth.set(document.address, value)
    return value
  }

  for (const document of documents) depthOf(document, new Set([document.address]))
  const levels: Array<Set<string>> = []
  for (const [address, value] of depth) (levels[value] ??= new Set()).add(address)
  return levels.filter(Boolean)
}

async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]
      // eslint-disable-next-line no-await-in-loop
      await task(item)
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

/** One document into the destination: checked against the destination's types, sealed for it, references pinned. */
async function writeCopy(to: BlockContext, document: StoredDocument, {data, target}: {data: Record<string, unknown>; target?: StoredDocument}): Promise<void> {
  const address = parseBlockAddress(document.address)
  const type = await to.registry.get(address.type)
  const violations = await validateData(to, type, data)
  if (violations.length > 0) throw validationError(document.address, violations, to.store.where(documentKey(address)))
  const paths = to.registry.secretPaths(type)
  const sealed = to.store.encryption === 'keyring' ? sealSecrets(data, paths, document.address, to.keyring) : data
  const {created, updated} = document.record
  const referrers = target?.record.referrers?.length ? {referrers: target.record.referrers} : {}
  const record: DocumentRecord = {created, data: sealed, kind: 'keyflow/block-document', name: address.name, ...referrers, schema: stampOf(type), type: type.slug, updated}
  const revision = await putDocument(to, address, record, target ? target.revision : null)
  await pinReferences(to, document.address, {previous: target?.record, record, revision})
}
