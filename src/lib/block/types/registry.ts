import {ExitCode, KeyflowError} from '../../errors.js'
import {warn} from '../../output/warn.js'
import {isPlainObject} from '../../util/json.js'
import {BlockStore, OFFLINE_NEEDS_AWS} from '../store/store.js'
import {BuiltinTypes} from './builtin.js'
import {BlockType, checkDefinition, FieldsSchema, secretPaths} from './definition.js'

/**
 * The block type registry: the built-in types, always there, plus the types registered from
 * modules and files, kept in the store under `types/<slug>` with the history of their schemas.
 */

export type RegisterStatus = 'registered' | 'unchanged' | 'updated'

export interface RegisterOutcome {
  checksum: string
  schemaNumber: number
  slug: string
  status: RegisterStatus
  version: string
}

interface SchemaEntry {
  checksum: string
  fields: FieldsSchema
  registered: string
  schemaNumber: number
  secretFields: string[]
  version: string
}

const typeKey = (slug: string) => `types/${slug}`

function fromRecord(value: Record<string, unknown>, where: string): BlockType {
  const {problems, type} = checkDefinition(
    {
      description: value.description,
      documentationUrl: value.documentationUrl,
      fields: value.fields,
      name: value.name,
      secretFields: value.secretFields,
      slug: value.slug,
      version: value.version,
    },
    where,
    new Set(Object.keys(isPlainObject(value.references) ? value.references : {}).map((field) => String((value.references as Record<string, unknown>)[field]))),
  )
  if (!type || type.checksum !== value.checksum) {
    throw new KeyflowError('A registered block type is corrupt or was edited by hand.', {
      code: 'STORE_CORRUPT',
      details: problems,
      exit: ExitCode.INTEGRITY,
      fix: 'Register the type again from its module (keyflow block register), or restore the file.',
      where,
    })
  }

  return {...type, schemaNumber: typeof value.schemaNumber === 'number' ? value.schemaNumber : 1}
}

export class Registry {
  readonly builtins: BuiltinTypes
  private loaded?: Map<string, BlockType>
  private readonly store: BlockStore

  constructor(store: BlockStore, builtins: BuiltinTypes) {
    this.store = store
    this.builtins = builtins
  }

  /** Every type, built-ins first; an unreadable registered type is skipped with a warning. */
  async all(): Promise<BlockType[]> {
    return [...(await this.load()).values()]
  }

  async get(slug: string): Promise<BlockType> {
    // A built-in needs no store round trip: what a connector and its credentials cost to load.
    const builtin = this.builtins.types.get(slug)
    if (builtin) return builtin
    const types = await this.load()
    const type = types.get(slug)
    if (type) return type
    // Skipped as unreadable by load(): reading it again reports the problem and the file.
    const stored = await this.store.get(typeKey(slug))
    if (stored) return fromRecord(stored.value, this.store.where(typeKey(slug)))
    throw new KeyflowError(`Block type '${slug}' not found!`, {
      code: 'BLOCK_TYPE_NOT_FOUND',
      details: [`Available block types: ${[...types.keys()].sort().join(', ')}`],
      exit: ExitCode.NOT_FOUND,
      fix: 'Register it with `keyflow block register -m MODULE` or `-f FILE`; `keyflow block type ls` lists the registry.',
    })
  }

  /** A loaded type, for code that has already awaited `all()` or `get()`. */
  lookup(slug: string): BlockType | undefined {
    return this.loaded?.get(slug) ?? this.builtins.types.get(slug)
  }

  /**
   * Validates every definition first (all problems at once, nothing written if any), then
   * writes each new or changed type with compare-and-swap.
   */
  async register(definitions: unknown[], origin: string): Promise<RegisterOutcome[]> {
    const types = await this.load()
    const batchSlugs = definitions.map((definition) => (isPlainObject(definition) ? definition.slug : undefined))
    const known = new Set([...batchSlugs.filter((slug): slug is string => typeof slug === 'string'), ...types.keys()])
    const problems: string[] = []
    const checked: BlockType[] = []
    for (const [index, definition] of definitions.entries()) {
      const label = `${origin} ${typeof batchSlugs[index] === 'string' ? `"${batchSlugs[index]}"` : `#${index + 1}`}`
      const result = checkDefinition(definition, label, known)
      problems.push(...result.problems)
      if (!result.type) continue
      if (types.get(result.type.slug)?.builtin) problems.push(`${label}: "${result.type.slug}" is a built-in block type and cannot be replaced`)
      if (batchSlugs.indexOf(result.type.slug) !== index) problems.push(`${label}: slug "${result.type.slug}" is defined twice`)
      checked.push(result.type)
    }

    if (problems.length > 0) {
      throw new KeyflowError(`Nothing was registered: ${problems.length} problem${problems.length > 1 ? 's' : ''} in the block type definitions.`, {
        code: 'INVALID_BLOCK_TYPE',
        details: problems,
        exit: ExitCode.VALIDATION,
        fix: 'Fix the definitions (docs/blocks.md "Defining block types") and register again.',
        where: origin,
      })
    }

    const outcomes: RegisterOutcome[] = []
    for (const type of checked) {
      // eslint-disable-next-line no-await-in-loop
      outcomes.push(await this.write(type))
    }

    this.loaded = undefined
    return outcomes
  }

  /** The history of a registered type's schemas, newest last (built-ins have one). */
  async schemas(slug: string): Promise<Array<Omit<SchemaEntry, 'fields'>>> {
    const type = await this.get(slug)
    if (type.builtin) return [{checksum: type.checksum, registered: 'built-in', schemaNumber: 1, secretFields: type.secretFields, version: type.version}]
    const stored = await this.store.get(typeKey(slug))
    const schemas = Array.isArray(stored?.value.schemas) ? (stored.value.schemas as SchemaEntry[]) : []
    return schemas.map(({fields: _fields, ...entry}) => entry)
  }

  secretPaths(type: BlockType): string[] {
    return secretPaths(type, (slug) => this.lookup(slug))
  }

  private async load(): Promise<Map<string, BlockType>> {
    if (this.loaded) return this.loaded
    const types = new Map(this.builtins.types)
    for (const {error, key, record} of await this.store.getMany(await this.registeredKeys())) {
      try {
        if (error) throw error
        if (record) {
          const type = fromRecord(record.value, this.store.where(key))
          if (!types.get(type.slug)?.builtin) types.set(type.slug, type)
        }
      } catch (error_) {
        // A failing store (denied, unreachable) is not "one unreadable type": it stops here.
        if (error_ instanceof KeyflowError && error_.exit === ExitCode.SOURCE_FAILURE) throw error_
        warn(`${error_ instanceof KeyflowError ? error_.message : 'A registered block type is unreadable.'} (${this.store.where(key)})`)
      }
    }

    this.loaded = types
    return types
  }

  /**
   * The registered types' keys. Offline, the aws store cannot list them (ListSecrets): the
   * built-in types stand alone, said once on stderr, so a read of built-in documents still works.
   */
  private async registeredKeys(): Promise<string[]> {
    try {
      return await this.store.list('types/')
    } catch (error) {
      if (!(error instanceof KeyflowError) || error.code !== OFFLINE_NEEDS_AWS) throw error
      warn('Offline: registered block types are not listed (that needs ListSecrets); a registered type a document names is read from the cache.')
      return []
    }
  }

  private async write(type: BlockType): Promise<RegisterOutcome> {
    for (let attempt = 0; ; attempt++) {
      // eslint-disable-next-line no-await-in-loop
      const stored = await this.store.get(typeKey(type.slug))
      const {outcome, record} = plan(type, stored?.value)
      if (!record) return outcome
      try {
        // eslint-disable-next-line no-await-in-loop
        await this.store.put(typeKey(type.slug), record, stored ? stored.revision : null)
        return outcome
      } catch (error) {
        if (!(error instanceof KeyflowError) || error.exit !== ExitCode.CONFLICT || attempt >= 10) throw error
      }
    }
  }
}

/** What registering `type` over the stored record means: the outcome, and the record to write unless unchanged. */
function plan(type: BlockType, previous: Record<string, unknown> | undefined): {outcome: RegisterOutcome; record?: Record<string, unknown>} {
  const schemas = Array.isArray(previous?.schemas) ? (previous.schemas as SchemaEntry[]) : []
  const latest = schemas.at(-1)
  const sameSchema = latest?.checksum === type.checksum && latest.version === type.version
  const sameMeta = previous?.name === type.name && previous.description === type.description && previous.documentationUrl === type.documentationUrl
  const schemaNumber = sameSchema ? latest.schemaNumber : (latest?.schemaNumber ?? 0) + 1
  const outcome = {checksum: type.checksum, schemaNumber, slug: type.slug, version: type.version}
  if (sameSchema && sameMeta) return {outcome: {...outcome, status: 'unchanged'}}
  const now = new Date().toISOString()
  const entry = {checksum: type.checksum, fields: type.fields, registered: now, schemaNumber, secretFields: type.secretFields, version: type.version}
  return {
    outcome: {...outcome, status: previous ? 'updated' : 'registered'},
    record: {
      checksum: type.checksum,
      description: type.description,
      documentationUrl: type.documentationUrl,
      fields: type.fields,
      kind: 'keyflow/block-type',
      name: type.name,
      references: type.references,
      registered: previous?.registered ?? now,
      schemaNumber,
      schemas: sameSchema ? schemas : [...schemas, entry],
      secretFields: type.secretFields,
      slug: type.slug,
      updated: now,
      version: type.version,
    },
  }
}
