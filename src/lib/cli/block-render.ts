import {BlockCheckReport} from '../block/documents/check.js'
import {isBlockMarker, isRefMarker} from '../block/documents/fields.js'
import {InspectedBlock, ListedBlock, WriteResult} from '../block/documents/operations.js'
import {RekeyResult} from '../block/keys/rekey.js'
import {RegisterResult, TypeDetails, TypeSummary} from '../block/types/register.js'
import {relativeTime, table} from '../output/table.js'
import {isPlainObject} from '../util/json.js'

/** Plain-text renderings of block command results, for stdout (--json keeps ISO times and the markers as stored). */

const firstSentence = (text: string) => text.split(/(?<=\.)\s/)[0]

export function renderRegister(result: RegisterResult): string {
  const changed = result.types.filter((type) => type.status !== 'unchanged').length
  return (
    `Successfully registered ${result.types.length} block type(s) from ${result.source} (${changed} new or changed)\n` +
    table(
      ['SLUG', 'STATUS', 'SCHEMA', 'VERSION', 'CHECKSUM'],
      result.types.map((type) => [type.slug, type.status, String(type.schemaNumber), type.version, type.checksum]),
    )
  )
}

export function renderTypes(types: TypeSummary[]): string {
  return table(
    ['SLUG', 'NAME', 'SOURCE', 'DESCRIPTION'],
    types.map((type) => [type.slug, type.name, type.builtin ? 'built-in' : `registered (schema ${type.schemaNumber})`, firstSentence(type.description)]),
  )
}

export function renderTypeDetails(type: TypeDetails): string {
  const lines = [
    `${type.name} (${type.slug})`,
    type.description,
    '',
    `version:  ${type.version}`,
    `checksum: ${type.checksum}`,
    `source:   ${type.builtin ? 'built-in' : `registered, schema ${type.schemaNumber} of ${type.schemas.length}`}`,
    `secret fields: ${type.secretFields.length > 0 ? type.secretFields.join(', ') : '(none)'}`,
    '',
  ]
  const rows = type.fields.map((field) => [
    field.name,
    field.blockType ? `block ${field.blockType}` : Array.isArray(field.type) ? field.type.join('|') : String(field.type ?? 'any'),
    field.required ? 'yes' : '',
    field.secret ? 'yes' : '',
    field.description ?? field.title ?? '',
  ])
  return lines.join('\n') + '\n' + table(['FIELD', 'TYPE', 'REQUIRED', 'SECRET', 'DESCRIPTION'], rows)
}

export const renderWrite = (result: WriteResult): string => `${result.status[0].toUpperCase()}${result.status.slice(1)} block ${result.address} (revision ${result.revision}).\n`

export function renderList(blocks: ListedBlock[]): string {
  if (blocks.length === 0) return 'No blocks.\n'
  return table(
    ['BLOCK', 'TYPE', 'UPDATED', 'REFERENCES'],
    blocks.map((block) => [block.address, block.type, relativeTime(block.updated), block.references.join(', ')]),
  )
}

/**
 * One row per field, nested documents as dotted paths; a reference shown as the reference it
 * is (resolved only when the block loads), a nested saved document as its address.
 */
function fieldRows(data: Record<string, unknown>, prefix = ''): string[][] {
  return Object.entries(data).flatMap(([field, value]) => {
    const path = `${prefix}${field}`
    if (isRefMarker(value)) return [[path, `${value.$ref} (reference)`]]
    if (isBlockMarker(value)) return [[path, `${value.$block} (block)`]]
    if (isPlainObject(value) && Object.keys(value).length > 0) return fieldRows(value, `${path}.`)
    return [[path, typeof value === 'string' ? value : JSON.stringify(value)]]
  })
}

export function renderInspect(block: InspectedBlock): string {
  const updated = `Updated: ${relativeTime(block.updated)} (${block.updated})`
  const lines = [block.address, `Block Type: ${block.type}`, `Revision: ${block.revision}`, updated, `Schema: ${block.schema.checksum}`, '']
  const rows = fieldRows(block.data)
  return lines.join('\n') + '\n' + table(['FIELD', 'VALUE'], rows)
}

export function renderRekey(result: RekeyResult): string {
  const lines = [`Re-encrypted ${result.values} secret value(s) in ${result.documents} document(s) with master key ${result.keyId}${result.previousKeyId ? ` (was ${result.previousKeyId})` : ''}.`]
  if (result.adopted.length > 0) lines.push(`Authenticated ${result.adopted.length} record(s) that had no MAC, on your word: ${result.adopted.join(', ')}.`)
  if (result.next) lines.push(result.next)
  return lines.join('\n') + '\n'
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

export function renderCheck(report: BlockCheckReport): string {
  if (report.checks.length === 0) return 'No blocks.\n'
  const lines = report.checks.flatMap((check) => {
    const what = `${count(check.references, 'reference')}, ${count(check.blocks, 'nested block')}`
    if (check.ok) return [`ok    ${check.address}: loads; ${what} resolved`]
    const error = check.error!
    return [
      `FAIL  ${check.address}: ${error.message}`,
      ...(error.where ? [`        where: ${error.where}`] : []),
      ...(error.details ?? []).map((detail) => `        ${detail}`),
      ...(error.fix ? [`        fix:   ${error.fix}`] : []),
    ]
  })
  return lines.join('\n') + '\n'
}
