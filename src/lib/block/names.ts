import {ExitCode, KeyflowError} from '../errors.js'

/**
 * Names of block types and documents, as Prefect checks them on create: lowercase letters,
 * digits and dashes (`^[a-z0-9-]+$`). keyflow also needs them non-empty and bounded, because
 * they become file names in the local store and parts of environment variable names.
 */

const NAME = /^[\da-z][\da-z-]*$/
const MAX_LENGTH = 100

/** Prefect's message for bad characters; a name that is only too long is told so, without quoting all of it. */
function describeBadName(what: string, name: unknown): string {
  if (typeof name === 'string' && NAME.test(name)) return `${what} ${JSON.stringify(name.slice(0, 40))}... is ${name.length} characters long; at most ${MAX_LENGTH} are allowed.`
  return `${what} ${JSON.stringify(name)} must only contain lowercase letters, numbers, and dashes.`
}

export function checkSlug(slug: unknown, where = 'block type slug'): string {
  if (typeof slug !== 'string' || !NAME.test(slug) || slug.length > MAX_LENGTH) {
    throw new KeyflowError(describeBadName('Block type slug', slug), {
      code: 'INVALID_SLUG',
      exit: ExitCode.USAGE,
      fix: `Use 1 to ${MAX_LENGTH} characters from a-z, 0-9 and "-", starting with a letter or digit, e.g. snowflake-credentials.`,
      where,
    })
  }

  return slug
}

export function checkDocumentName(name: unknown, where = 'block document name'): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > MAX_LENGTH) {
    throw new KeyflowError(describeBadName('Block document name', name), {
      code: 'INVALID_NAME',
      exit: ExitCode.USAGE,
      fix: `Use 1 to ${MAX_LENGTH} characters from a-z, 0-9 and "-", e.g. prod or team-a.`,
      where,
    })
  }

  return name
}

export interface BlockAddress {
  name: string
  type: string
}

/** `TYPE/NAME`, split on the first slash as Prefect's `Block.load("type/name")` does. */
export function parseBlockAddress(text: string, where = 'block'): BlockAddress {
  const slash = typeof text === 'string' ? text.indexOf('/') : -1
  if (slash === -1) {
    throw new KeyflowError(`${JSON.stringify(text)} is not valid. Slug must contain a '/', e.g. 'snowflake-credentials/prod'.`, {
      code: 'INVALID_BLOCK_ADDRESS',
      exit: ExitCode.USAGE,
      fix: 'Name a document as TYPE/NAME; `keyflow block ls` lists them.',
      where,
    })
  }

  return {name: checkDocumentName(text.slice(slash + 1), where), type: checkSlug(text.slice(0, slash), where)}
}

export const formatAddress = (address: BlockAddress): string => `${address.type}/${address.name}`

/** A name as part of an environment variable name: upper-cased, every character other than a letter, digit or underscore `_`. */
export const envPart = (text: string): string => text.toUpperCase().replaceAll(/\W/g, '_')

export function isBlockAddress(text: unknown): text is string {
  if (typeof text !== 'string') return false
  const slash = text.indexOf('/')
  return slash > 0 && NAME.test(text.slice(0, slash)) && NAME.test(text.slice(slash + 1))
}
