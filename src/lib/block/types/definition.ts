import type {Ajv, Options} from 'ajv'

import {createRequire} from 'node:module'

import {isPlainObject} from '../../util/json.js'
import {checkSlug} from '../names.js'
import {checksumOf} from './canonical.js'

/**
 * Block types: the definition an author writes (in a module, a JSON file, or keyflow's
 * built-ins) and the checked form the registry keeps. README "Blocks" documents the format.
 *
 * `fields` is a JSON Schema of an object. A property that holds another block says so with
 * the `blockType` keyword (`{"blockType": "snowflake-credentials"}`); its value is then a
 * reference to a saved document of that type or an inline document. `secretFields` are
 * dotted paths, as Prefect's `secret_fields`: `password`, `parent.child` into a sub-object,
 * `name.*` for every key of a map. Secrets of nested blocks come from their own type and are
 * prefixed with the field name (`credentials.password`).
 */

export interface FieldsSchema {
  [keyword: string]: unknown
  properties: Record<string, Record<string, unknown>>
  required?: string[]
  type?: 'object'
}

export interface BlockTypeDefinition {
  description?: string
  documentationUrl?: string
  fields: FieldsSchema
  name: string
  secretFields?: string[]
  slug: string
  version?: string
}

export interface Violation {
  message: string
  /** Dotted field path; '' for the whole document. */
  path: string
}

export interface BlockType {
  builtin: boolean
  checksum: string
  description: string
  documentationUrl?: string
  fields: FieldsSchema
  name: string
  /** Fields that hold another block: field name -> block type slug. */
  references: Record<string, string>
  /** Cross-field rules a JSON Schema cannot say with a useful message (built-in types only). */
  rules?: (data: Record<string, unknown>) => Violation[]
  /** 1 for the first schema registered under this slug, then +1 per changed schema. */
  schemaNumber: number
  /** This type's own secret field paths (nested blocks' secrets are added by secretPaths). */
  secretFields: string[]
  slug: string
  version: string
}

export const FIELD_NAME = /^[A-Z_a-z]\w*$/

/**
 * A schema compiler, built on first use: Ajv takes tens of ms to load and set up, which a
 * command that checks no schema (block ls, block inspect) should not pay. Ajv is CommonJS, so
 * require() loads it without Node's ESM lexer. The build uses the same one (with `options` to
 * emit code) for the built-in types' validators (scripts/validators.mjs).
 */
export function createAjv(options: Options = {}): Ajv {
  const {Ajv} = createRequire(import.meta.url)('ajv') as typeof import('ajv')
  const ajv = new Ajv({allErrors: true, strict: false, validateFormats: false, ...options})
  // Nested documents are checked against their own type by keyflow, not by this schema.
  ajv.addKeyword({keyword: 'blockType', schemaType: 'string'})
  return ajv
}

let ajv: Ajv | undefined

/** The checksum of a type's schema: see docs/blocks.md "Checksums" for how it relates to Prefect's. */
export function schemaChecksum(slug: string, fields: FieldsSchema, secretFields: string[]): string {
  // eslint-disable-next-line camelcase -- Prefect's key names, so the hashed structure has its shape
  return checksumOf({...fields, block_type_slug: slug, secret_fields: [...secretFields].sort()})
}

function checkSecretPath(path: unknown, fields: FieldsSchema): string | undefined {
  if (typeof path !== 'string' || path === '') return 'a secret field path must be a non-empty string'
  const segments = path.split('.')
  let schema: Record<string, unknown> | undefined = fields as Record<string, unknown>
  for (const [index, segment] of segments.entries()) {
    if (segment === '*') {
      if (index !== segments.length - 1) return `"${path}": * may only end a path`
      if (schema?.type !== 'object') return `"${path}": * needs an object field`
      return undefined
    }

    const properties: unknown = schema?.properties
    const next: unknown = isPlainObject(properties) ? properties[segment] : undefined
    if (!isPlainObject(next)) return `"${path}" does not name a field of the schema`
    if (typeof next.blockType === 'string') return `"${path}" is inside the nested block field "${segment}"; its secret fields come from its own type`
    schema = next
  }

  return undefined
}

const DEFINITION_KEYS = new Set(['description', 'documentationUrl', 'fields', 'name', 'secretFields', 'slug', 'version'])

type Fail = (problem: string) => void

/** Everything but the fields: keys, slug, name, description, version. */
function checkMetadata(raw: Record<string, unknown>, fail: Fail): void {
  const {description, documentationUrl, name, slug, version = 'non-versioned'} = raw
  for (const key of Object.keys(raw)) if (!DEFINITION_KEYS.has(key)) fail(`unknown key "${key}" (known: ${[...DEFINITION_KEYS].join(', ')})`)
  try {
    checkSlug(slug)
  } catch {
    fail(`slug ${JSON.stringify(slug)} must only contain lowercase letters, numbers, and dashes`)
  }

  if (typeof slug === 'string' && /^keyflow/i.test(slug)) fail('block type slugs beginning with "keyflow" are reserved')
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) fail('name must be a non-empty string of at most 200 characters')
  if (description !== undefined && typeof description !== 'string') fail('description must be a string')
  if (documentationUrl !== undefined && typeof documentationUrl !== 'string') fail('documentationUrl must be a string')
  if (typeof version !== 'string' || version === '') fail('version must be a non-empty string')
}

/** Field names and nested block fields; returns field -> nested type slug. */
function checkProperties(properties: Record<string, unknown>, knownSlugs: Set<string>, fail: Fail): Record<string, string> {
  const references: Record<string, string> = {}
  for (const [field, schema] of Object.entries(properties)) {
    if (!FIELD_NAME.test(field)) fail(`field name "${field}" must be letters, digits and underscores, not starting with a digit`)
    if (!isPlainObject(schema)) {
      fail(`field "${field}" must have a JSON Schema object`)
    } else if (schema.blockType !== undefined) {
      if (typeof schema.blockType === 'string' && knownSlugs.has(schema.blockType)) references[field] = schema.blockType
      else fail(`field "${field}" nests block type ${JSON.stringify(schema.blockType)}, which is not registered; register it first or in the same module`)
    }
  }

  return references
}

interface FieldChecks {
  compileSchema: boolean
  knownSlugs: Set<string>
}

function checkFields(fields: unknown, secretFields: unknown, {compileSchema, knownSlugs}: FieldChecks, fail: Fail): Record<string, string> {
  if (!isPlainObject(fields) || !isPlainObject(fields.properties) || (fields.type !== undefined && fields.type !== 'object')) {
    fail('fields must be a JSON Schema of an object: {"type": "object", "properties": {...}}')
    return {}
  }

  const references = checkProperties(fields.properties, knownSlugs, fail)
  const required = fields.required ?? []
  if (!Array.isArray(required) || required.some((field) => typeof field !== 'string' || !(field in (fields.properties as object)))) {
    fail('fields.required must list names of properties')
  }

  if (compileSchema) {
    try {
      ajv ??= createAjv()
      ajv.compile(fields)
    } catch (error) {
      fail(`fields is not a valid JSON Schema: ${error instanceof Error ? error.message.split('\n')[0] : 'unknown problem'}`)
    }
  }

  if (Array.isArray(secretFields)) {
    for (const path of secretFields) {
      const problem = checkSecretPath(path, fields as FieldsSchema)
      if (problem) fail(`secretFields: ${problem}`)
    }
  } else {
    fail('secretFields must be a list of field paths')
  }

  return references
}

/**
 * Checks a definition as an author wrote it; every problem is reported, prefixed with where.
 * `knownSlugs` are the types nested block fields may name. `compileSchema: false` skips
 * compiling the JSON Schema, for keyflow's own types, which the unit tests check in full.
 */
export function checkDefinition(
  raw: unknown,
  where: string,
  knownSlugs: Set<string>,
  {compileSchema = true}: {compileSchema?: boolean} = {},
): {problems: string[]; type?: BlockType} {
  const problems: string[] = []
  const fail = (problem: string) => problems.push(`${where}: ${problem}`)
  if (!isPlainObject(raw)) {
    fail('a block type definition must be an object with slug, name and fields')
    return {problems}
  }

  const {description, documentationUrl, fields, name, secretFields = [], slug, version = 'non-versioned'} = raw
  checkMetadata(raw, fail)
  const references = checkFields(fields, secretFields, {compileSchema, knownSlugs}, fail)
  if (problems.length > 0) return {problems}
  const fieldsSchema = {type: 'object', ...(fields as Record<string, unknown>)} as FieldsSchema
  const secrets = [...new Set(secretFields as string[])].sort()
  let checksum: string | undefined
  return {
    problems,
    type: {
      builtin: false,
      // Hashed when first read: a command reads one type's or two, and hashing every built-in
      // type at each start cost a `block inspect` a tenth of its time.
      get checksum() {
        checksum ??= schemaChecksum(slug as string, fieldsSchema, secrets)
        return checksum
      },
      description: (description as string | undefined) ?? '',
      documentationUrl: documentationUrl as string | undefined,
      fields: fieldsSchema,
      name: name as string,
      references,
      schemaNumber: 1,
      secretFields: secrets,
      slug: slug as string,
      version: version as string,
    },
  }
}

/**
 * Every secret path of a type, its nested blocks' included (`credentials.password`).
 * `lookup` finds nested types; a cycle of nested types stops at the first repeat.
 */
export function secretPaths(type: BlockType, lookup: (slug: string) => BlockType | undefined, seen = new Set<string>()): string[] {
  if (seen.has(type.slug)) return []
  const inner = new Set([type.slug, ...seen])
  const nested = Object.entries(type.references).flatMap(([field, slug]) => {
    const child = lookup(slug)
    return child ? secretPaths(child, lookup, inner).map((path) => `${field}.${path}`) : []
  })
  return [...type.secretFields, ...nested]
}
