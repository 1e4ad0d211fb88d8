import {ExitCode, KeyflowError} from '../../errors.js'
import {BlockContext} from '../context.js'
import {checkSlug} from '../names.js'
import {loadFileDefinitions, loadModuleDefinitions} from './module-loader.js'
import {RegisterOutcome} from './registry.js'

/** `keyflow block register` and `keyflow block type ls|inspect`. */

export interface RegisterInput {
  cwd: string
  file?: string
  module?: string
}

export interface RegisterResult {
  source: string
  types: RegisterOutcome[]
}

export async function registerBlockTypes(context: BlockContext, input: RegisterInput): Promise<RegisterResult> {
  if (Boolean(input.module) === Boolean(input.file)) {
    throw new KeyflowError('Please specify either a module or a file containing blocks to be registered, but not both.', {
      code: 'USAGE',
      exit: ExitCode.USAGE,
      fix: 'keyflow block register -m MODULE, or keyflow block register -f FILE',
    })
  }

  const source = input.module ?? input.file!
  // Own keys only: a module named constructor or toString is looked up as a package, not found on Object.prototype.
  const {collections, types} = context.registry.builtins
  const builtin = input.module && Object.hasOwn(collections, input.module) ? collections[input.module] : undefined
  if (builtin) {
    // Built-in types are always registered; the seed's `-m prefect_aws` keeps working and says so.
    return {
      source,
      types: builtin.map((slug) => {
        const type = types.get(slug)!
        return {checksum: type.checksum, schemaNumber: 1, slug, status: 'unchanged', version: type.version}
      }),
    }
  }

  const definitions = input.module ? await loadModuleDefinitions(input.module, input.cwd) : await loadFileDefinitions(input.file!, input.cwd)
  if (definitions.length === 0) {
    throw new KeyflowError(`No blocks were registered from ${input.module ? 'module' : 'file'} '${source}'. Please make sure it exports block type definitions.`, {
      code: 'NO_BLOCK_TYPES',
      exit: ExitCode.VALIDATION,
      fix: 'Export plain objects {slug, name, fields, secretFields, version} (docs/blocks.md "Defining block types").',
      where: source,
    })
  }

  return {source, types: await context.registry.register(definitions, source)}
}

export interface TypeSummary {
  builtin: boolean
  checksum: string
  description: string
  name: string
  schemaNumber: number
  slug: string
  version: string
}

export async function listBlockTypes(context: BlockContext): Promise<TypeSummary[]> {
  const types = await context.registry.all()
  return types
    .map(({builtin, checksum, description, name, schemaNumber, slug, version}) => ({builtin, checksum, description, name, schemaNumber, slug, version}))
    .sort((a, b) => a.slug.localeCompare(b.slug))
}

export interface FieldSummary {
  blockType?: string
  default?: unknown
  description?: string
  name: string
  required: boolean
  secret: boolean
  title?: string
  type?: unknown
}

export interface TypeDetails extends TypeSummary {
  documentationUrl?: string
  fields: FieldSummary[]
  rules: boolean
  schema: Record<string, unknown>
  schemas: Array<{checksum: string; registered: string; schemaNumber: number; version: string}>
  secretFields: string[]
}

export async function inspectBlockType(context: BlockContext, slug: string): Promise<TypeDetails> {
  await context.registry.all()
  const type = await context.registry.get(checkSlug(slug, 'SLUG'))
  const secretFields = context.registry.secretPaths(type)
  const required = new Set(type.fields.required ?? [])
  const fields = Object.entries(type.fields.properties).map(([name, schema]): FieldSummary => ({
    blockType: typeof schema.blockType === 'string' ? schema.blockType : undefined,
    default: schema.default,
    description: typeof schema.description === 'string' ? schema.description : undefined,
    name,
    required: required.has(name),
    secret: type.secretFields.includes(name),
    title: typeof schema.title === 'string' ? schema.title : undefined,
    type: schema.type ?? (schema.enum ? 'enum' : undefined),
  }))
  const schemas = (await context.registry.schemas(type.slug)).map(({checksum, registered, schemaNumber, version}) => ({checksum, registered, schemaNumber, version}))
  return {
    builtin: type.builtin,
    checksum: type.checksum,
    description: type.description,
    documentationUrl: type.documentationUrl,
    fields,
    name: type.name,
    rules: Boolean(type.rules),
    schema: type.fields,
    schemaNumber: type.schemaNumber,
    schemas,
    secretFields,
    slug: type.slug,
    version: type.version,
  }
}
