import {BlockType, BlockTypeDefinition, checkDefinition, Violation} from './definition.js'

/**
 * Built-in block types come in packs, each defined next to its domain and registered into the
 * registry by the composition root (src/lib/invocation.ts): Prefect's `Secret` here, the
 * prefect-aws blocks in src/lib/aws/block-types.ts, the prefect-snowflake blocks in
 * src/lib/snowflake/block-types.ts. Differences from Prefect are listed in docs/blocks.md.
 */

export interface BlockTypePack {
  /** The names `keyflow block register -m NAME` accepts for this pack without loading any module. */
  collections: string[]
  definitions: BlockTypeDefinition[]
  /** Cross-field rules, by slug. */
  rules?: Record<string, (data: Record<string, unknown>) => Violation[]>
}

export const secretString = (title: string, description?: string) => ({description, format: 'password', title, type: 'string', writeOnly: true})
export const text = (title: string, description?: string) => ({description, title, type: 'string'})

export const SECRET_TYPES: BlockTypePack = {
  collections: [],
  definitions: [
    {
      description: 'A block that represents a secret value. The value is encrypted at rest, or kept as a reference resolved when the block is loaded.',
      fields: {properties: {value: secretString('Value', 'The secret.')}, required: ['value'], type: 'object'},
      name: 'Secret',
      secretFields: ['value'],
      slug: 'secret',
      version: '1',
    },
  ],
}

export interface BuiltinTypes {
  /** Collection name -> the slugs it holds. */
  collections: Record<string, string[]>
  types: ReadonlyMap<string, BlockType>
}

/** Checks and compiles the packs; a broken built-in is a bug in keyflow itself, caught by the unit tests. */
export function compileBuiltins(packs: BlockTypePack[]): BuiltinTypes {
  const types = new Map<string, BlockType>()
  const collections: Record<string, string[]> = {}
  for (const pack of packs) {
    for (const definition of pack.definitions) {
      // Their schemas are compiled by the unit tests, not at every start.
      const {problems, type} = checkDefinition(definition, `built-in ${definition.slug}`, new Set(types.keys()), {compileSchema: false})
      if (!type) throw new Error(problems.join('; '))
      // Assigned, not spread: a spread would read the checksum getter and hash the schema now.
      types.set(type.slug, Object.assign(type, {builtin: true, rules: pack.rules?.[type.slug]}))
    }

    for (const name of pack.collections) collections[name] = pack.definitions.map(({slug}) => slug)
  }

  return {collections, types}
}
