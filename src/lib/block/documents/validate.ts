import type {Ajv, ErrorObject, ValidateFunction} from 'ajv'

import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

import {ExitCode, KeyflowError} from '../../errors.js'
import {isPlainObject} from '../../util/json.js'
import {formatAddress, parseBlockAddress} from '../names.js'
import {BlockStore} from '../store/store.js'
import {BlockType, createAjv, Violation} from '../types/definition.js'
import {Registry} from '../types/registry.js'
import {BlockData, isBlockMarker, isRefMarker, visitPath} from './fields.js'

/**
 * Checks a document's data against its type: the JSON Schema (ajv), unknown fields, nested
 * blocks (a reference must name an existing document of the right type; an inline document
 * is checked against its own type), and the type's cross-field rules. A secret field holding a
 * reference counts as given; its value is checked when the block is loaded.
 */

let ajv: Ajv | undefined
const compiled = new Map<string, ValidateFunction>()
let prebuilt: Record<string, undefined | ValidateFunction> | undefined

/**
 * The built-in types' validators, compiled by the build (scripts/validators.mjs) under
 * `SLUG@CHECKSUM`; none where there is no build (bin/dev.mjs runs the sources), and Ajv compiles.
 */
function prebuiltValidators(): Record<string, undefined | ValidateFunction> {
  if (!prebuilt) {
    try {
      prebuilt = createRequire(import.meta.url)(fileURLToPath(new URL('../../../builtin-validators.cjs', import.meta.url))) as Record<string, undefined | ValidateFunction>
    } catch {
      prebuilt = {}
    }
  }

  return prebuilt
}

function validatorFor(type: BlockType): ValidateFunction {
  const key = `${type.slug}@${type.checksum}`
  let validate = compiled.get(key)
  if (!validate) {
    validate = (type.builtin ? prebuiltValidators()[key] : undefined) ?? (ajv ??= createAjv()).compile(type.fields)
    compiled.set(key, validate)
  }

  return validate
}

function describeAjvError(error: ErrorObject, prefix: string): Violation {
  const base = error.instancePath.split('/').slice(1).map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
  const path = (field: string[]) => prefix + field.join('.')
  switch (error.keyword) {
    case 'additionalProperties': {
      return {message: 'unknown field', path: path([...base, String(error.params.additionalProperty)])}
    }

    case 'enum': {
      return {message: `must be one of: ${(error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`, path: path(base)}
    }

    case 'required': {
      return {message: 'is required', path: path([...base, String(error.params.missingProperty)])}
    }

    default: {
      return {message: error.message ?? 'is invalid', path: path(base)}
    }
  }
}

export async function validateData(
  {registry, store}: {registry: Registry; store: BlockStore},
  type: BlockType,
  data: unknown,
  prefix = '',
): Promise<Violation[]> {
  if (!isPlainObject(data)) return [{message: `must be an object of ${type.slug} fields`, path: prefix.replace(/\.$/, '')}]
  const violations: Violation[] = []
  for (const field of Object.keys(data)) {
    if (!Object.hasOwn(type.fields.properties, field)) violations.push({message: 'unknown field', path: prefix + field})
  }

  const checked: BlockData = {...data}
  for (const [field, slug] of Object.entries(type.references)) {
    const value = data[field]
    if (value === undefined) continue
    // Nested values are checked below against their own type; the parent schema says nothing about them.
    checked[field] = {}
    if (isBlockMarker(value)) {
      // eslint-disable-next-line no-await-in-loop
      violations.push(...(await checkReference(store, value.$block, slug, prefix + field)))
    } else if (isPlainObject(value)) {
      // eslint-disable-next-line no-await-in-loop
      violations.push(...(await validateData({registry, store}, await registry.get(slug), value, `${prefix}${field}.`)))
    } else {
      violations.push({message: `must name a saved ${slug} document (${slug}/NAME) or hold one inline`, path: prefix + field})
    }
  }

  const referenced: string[] = []
  for (const path of type.secretFields) {
    visitPath(checked, path, (holder, key, concrete) => {
      if (isRefMarker(holder[key])) {
        referenced.push(concrete)
        holder[key] = 'reference'
      }
    })
  }

  const validate = validatorFor(type)
  if (!validate(checked)) {
    for (const error of validate.errors ?? []) {
      const violation = describeAjvError(error, prefix)
      if (!referenced.some((path) => prefix + path === violation.path || violation.path.startsWith(`${prefix}${path}.`))) violations.push(violation)
    }
  }

  for (const violation of type.rules?.(data) ?? []) violations.push({...violation, path: (prefix + violation.path).replace(/\.$/, '')})
  return dedupe(violations)
}

function dedupe(violations: Violation[]): Violation[] {
  const seen = new Set<string>()
  return violations.filter((violation) => {
    const key = `${violation.path}\0${violation.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

async function checkReference(store: BlockStore, target: string, slug: string, path: string): Promise<Violation[]> {
  let address
  try {
    address = parseBlockAddress(target)
  } catch {
    return [{message: `"${target}" is not a TYPE/NAME reference`, path}]
  }

  if (address.type !== slug) return [{message: `must reference a ${slug} document, not ${address.type}`, path}]
  try {
    const found = await store.get(`documents/${address.type}/${address.name}`)
    return found ? [] : [{message: `no saved document ${formatAddress(address)}`, path}]
  } catch {
    return [{message: `the document ${formatAddress(address)} is unreadable`, path}]
  }
}

export function validationError(address: string, violations: Violation[], where?: string): KeyflowError {
  return new KeyflowError(`${address} is invalid: ${violations.length} problem${violations.length > 1 ? 's' : ''}.`, {
    code: 'BLOCK_INVALID',
    details: violations.map((violation) => `${violation.path || '(document)'}: ${violation.message}`),
    exit: ExitCode.VALIDATION,
    fix: 'Fix the fields listed above; `keyflow block type inspect TYPE` shows every field.',
    where,
  })
}
