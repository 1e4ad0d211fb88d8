import {ExitCode, KeyflowError} from '../../errors.js'
import {isPlainObject} from '../../util/json.js'
import {BlockContext} from '../context.js'
import {BlockAddress, formatAddress} from '../names.js'
import {StoredRecord} from '../store/store.js'
import {BlockType} from '../types/definition.js'
import {BlockData, unsealSecrets} from './fields.js'

/**
 * Block documents as records of the store: `documents/<type>/<name>` holding
 *   {kind, type, name, schema: {checksum, version, number}, created, updated, data}
 * (plus the store's `revision`). `data` keeps literal secret values sealed.
 */

export interface SchemaStamp {
  checksum: string
  number: number
  version: string
}

export interface DocumentRecord {
  created: string
  data: BlockData
  kind: 'keyflow/block-document'
  name: string
  schema: SchemaStamp
  type: string
  updated: string
}

export interface StoredDocument {
  address: string
  record: DocumentRecord
  revision: number
  where: string
}

export const documentKey = (address: BlockAddress) => `documents/${address.type}/${address.name}`

export function notFound(address: BlockAddress): KeyflowError {
  return new KeyflowError(`Unable to find block document named ${address.name} for block type ${address.type}`, {
    code: 'BLOCK_NOT_FOUND',
    exit: ExitCode.NOT_FOUND,
    fix: '`keyflow block ls` lists the saved documents; `keyflow block create TYPE NAME` saves one.',
    where: formatAddress(address),
  })
}

function corruptDocument(where: string, problem: string): KeyflowError {
  return new KeyflowError(`The block document is corrupt: ${problem}.`, {
    code: 'STORE_CORRUPT',
    exit: ExitCode.INTEGRITY,
    fix: 'Restore the file from a backup, or delete it (keyflow block delete TYPE/NAME --force) and create it again.',
    where,
  })
}

export function toDocument(address: BlockAddress, stored: StoredRecord, where: string): StoredDocument {
  const {value} = stored
  const {data, name, schema, type} = value
  if (value.kind !== 'keyflow/block-document') throw corruptDocument(where, 'it is not a keyflow block document')
  if (type !== address.type || name !== address.name) throw corruptDocument(where, `it names ${String(type)}/${String(name)}, not ${formatAddress(address)}`)
  if (!isPlainObject(data)) throw corruptDocument(where, 'it has no data object')
  if (!isPlainObject(schema) || typeof schema.checksum !== 'string') throw corruptDocument(where, 'it has no schema stamp')
  return {address: formatAddress(address), record: value as unknown as DocumentRecord, revision: stored.revision, where}
}

/** A document, or undefined when absent; corrupt records throw INTEGRITY naming the file. */
export async function readDocument(context: BlockContext, address: BlockAddress): Promise<StoredDocument | undefined> {
  const key = documentKey(address)
  const stored = await context.store.get(key)
  return stored ? toDocument(address, stored, context.store.where(key)) : undefined
}

export async function requireDocument(context: BlockContext, address: BlockAddress): Promise<StoredDocument> {
  const document = await readDocument(context, address)
  if (!document) throw notFound(address)
  return document
}

/** The data with literal secret values decrypted; references and nested references stay markers. */
export const openData = (context: BlockContext, document: StoredDocument): BlockData =>
  unsealSecrets(document.record.data, document.address, context.keyring, document.where)

export function stampOf(type: BlockType): SchemaStamp {
  return {checksum: type.checksum, number: type.schemaNumber, version: type.version}
}
