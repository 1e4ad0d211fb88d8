import type {Chain} from '../secret/chain.js'
import type {BlockContext} from './context.js'
import type {StoreKind} from './store/store.js'

import {ExitCode, KeyflowError} from '../errors.js'
import {defineSource, failure, hit, LookupRequest, miss, Outcome, Provenance} from '../secret/source.js'
import {isPlainObject} from '../util/json.js'
import {BlockAddress, envPart, formatAddress, parseBlockAddress} from './names.js'

/**
 * `block://TYPE/NAME[#FIELD]`: a field of a block document as a secret, from the invocation's
 * block store (`blocks.store` / `--store`), so `secret get`, `run --secret`, keyflow.json and
 * other blocks' secret fields can use what a `secret` block or a credentials block holds.
 * Without `#FIELD` it is the `value` field (the `secret` type's one field).
 *
 * The field is read as a flow loading the block gets it: literal secrets decrypted, a field
 * that holds a reference resolved through the same chain (with the cycle guard of
 * `LookupRequest.via`), nested documents loaded. Every block:// reference of one resolution is
 * loaded together: one batched store read per level of nesting (BatchGetSecretValue on the aws
 * store).
 *
 * Why here and not under secret/sources/: block sits above secret (a block's fields hold
 * references resolved through the chain), so this plug-in is defined in the block layer and
 * added to the chain by the composition root (src/lib/invocation.ts, DEFAULT_SOURCES). The
 * invocation hands it its block context through SourceContext (`blocks`, declared below by
 * declaration merging, types only) and its chain (`chain`): no import runs up a layer, and
 * a `secret get` that never names block:// never opens the block store.
 */

declare module '../secret/source.js' {
  interface SourceServices {
    /** The invocation's block context (store, registry, master key), opened on first use. */
    blocks?: () => Promise<BlockContext>
  }
}

export interface BlockProvenance extends Provenance {
  /** The dotted field path read. */
  field: string
  name: string
  source: 'block'
  /** Which store answered. */
  store: StoreKind
  type: string
  /** The document's file or secret. */
  where: string
}

/** The field a reference without #FIELD reads. */
const DEFAULT_FIELD = 'value'

export const blockPlugin = defineSource<BlockProvenance, Record<never, never>>({
  defaultKey: (name) => envPart(name.slice(name.indexOf('/') + 1)),
  describe: ({field, name, store, type, where}) => `${type}/${name}#${field}, ${store} store (${where})`,
  kind: 'block',
  open: ({blocks, chain}) => ({
    kind: 'block',
    async lookup(requests) {
      if (!blocks || !chain) throw new Error('the block source was opened without the invocation\'s block context')
      return lookupFields(await blocks(), chain(), requests)
    },
  }),
  picksPath: true,
  schemeOnly: true,
  schemes: ['block'],
  settings: {},
})

interface Wanted {
  address: BlockAddress
  field: string[]
  index: number
  via: readonly string[]
}

const text = (request: LookupRequest) => `block://${request.name}${request.path?.length ? `#${request.path.join('.')}` : ''}`

async function lookupFields(context: BlockContext, chain: Chain, requests: LookupRequest[]): Promise<Outcome[]> {
  // Loaded here, not at start-up: `secret get NAME` imports this plug-in and never gets here.
  const [{resolveBlocks}, {fieldAt}, {toKeyflowError}] = await Promise.all([import('./documents/load.js'), import('./documents/input.js'), import('../output/render-error.js')])
  const outcomes: Outcome[] = Array.from({length: requests.length})
  const wanted: Wanted[] = []
  await Promise.all(
    requests.map(async (request, index) => {
      try {
        const address = parseBlockAddress(request.name, `reference ${text(request)}`)
        const type = await context.registry.get(address.type)
        const given = request.path !== undefined && request.path.length > 0
        const field = given ? [...request.path!] : [DEFAULT_FIELD]
        // A field that holds a reference back to a field on the path that led here: a loop, refused rather than followed.
        const label = `${formatAddress(address)}#${field.join('.')}`
        const via = request.via ?? []
        if (via.includes(label)) throw cycle(label, via)
        if (!given && !Object.hasOwn(type.fields.properties, DEFAULT_FIELD)) throw fieldRequired(request, Object.keys(type.fields.properties))
        if (!(await fieldAt(context.registry, type, field.join('.')))) throw unknownField(request, field, address.type)
        wanted.push({address, field, index, via})
      } catch (error) {
        outcomes[index] = failure(inStore(toKeyflowError(error), context))
      }
    }),
  )

  // One load per document (and chain of referrers), every field wanted of it resolved together.
  const groups = new Map<string, Wanted[]>()
  for (const item of wanted) {
    const key = [formatAddress(item.address), ...item.via].join('\0')
    groups.set(key, [...(groups.get(key) ?? []), item])
  }

  const members = [...groups.values()]
  const loaded = await resolveBlocks({blocks: async () => context, chain}, members.map(([first]) => formatAddress(first.address)), {
    fields: members.map((items) => items.map(({field}) => field.join('.'))),
    via: members.map(([first]) => first.via),
  })
  const {store} = context
  for (const [group, result] of loaded.entries()) {
    for (const {address, field, index} of members[group]) {
      const label = formatAddress(address)
      const where = store.where(`documents/${label}`)
      const request = requests[index]
      if (result.status === 'rejected') {
        const error = toKeyflowError(result.reason)
        // The document asked for is absent: a miss. A nested document missing, a reference of its own failing, a corrupt record: failures.
        outcomes[index] = error.code === 'BLOCK_NOT_FOUND' && error.where === label ? miss(`no document ${label} in the ${store.kind} store (${store.location})`, howToCreate(context, address, field)) : failure(error)
        continue
      }

      const value = pick(result.value.data, field)
      const dotted = field.join('.')
      if (value === undefined || value === null) outcomes[index] = miss(`${label} has no ${dotted} set (${store.kind} store, ${where})`, howToUpdate(context, label, field))
      else if (typeof value === 'string') outcomes[index] = hit(value, {field: dotted, name: address.name, source: 'block', store: store.kind, type: address.type, where})
      else outcomes[index] = failure(inStore(notText(request, dotted, label, value), context))
    }
  }

  return outcomes
}

/** The error, its `where` naming the store that was asked (what --explain and the error show), as a miss does. */
function inStore(error: KeyflowError, context: BlockContext): KeyflowError {
  const {kind, location} = context.store
  const where = [error.where, `${kind} store (${location})`].filter(Boolean).join(', ')
  return new KeyflowError(error.message, {cause: error, code: error.code, details: error.details, exit: error.exit, fix: error.fix, where})
}

function pick(data: unknown, field: string[]): unknown {
  let current = data
  for (const segment of field) current = isPlainObject(current) && Object.hasOwn(current, segment) ? current[segment] : undefined
  return current
}

const storeFlag = (context: BlockContext) => (context.store.kind === 'aws' ? ' --store aws' : '')

/** How to give the field: from stdin (a secret must never be in argv), else a --field. */
function fieldInput(context: BlockContext, address: BlockAddress, field: string[]): {stdin: boolean; text: string} {
  const dotted = field.join('.')
  const type = context.registry.lookup(address.type)
  const secret = type ? context.registry.secretPaths(type).some((path) => path === dotted || dotted.startsWith(`${path}.`)) : true
  return secret ? {stdin: true, text: `--stdin-field ${dotted}`} : {stdin: false, text: `--field ${dotted}=VALUE`}
}

function howToCreate(context: BlockContext, address: BlockAddress, field: string[]): string {
  const input = fieldInput(context, address, field)
  return `${input.stdin ? 'printf %s "$VALUE" | ' : ''}keyflow block create ${address.type} ${address.name}${storeFlag(context)} ${input.text}`
}

function howToUpdate(context: BlockContext, label: string, field: string[]): string {
  const input = fieldInput(context, parseBlockAddress(label), field)
  return `${input.stdin ? 'printf %s "$VALUE" | ' : ''}keyflow block update ${label}${storeFlag(context)} ${input.text}`
}

function cycle(label: string, via: readonly string[]): KeyflowError {
  const loop = [...via.slice(via.indexOf(label)), label]
  return new KeyflowError(`Block field ${label} refers back to itself through block:// references: ${loop.join(' -> ')}.`, {
    code: 'BLOCK_CYCLE',
    exit: ExitCode.VALIDATION,
    fix: 'Point one of these fields at the value itself (a literal or another source) instead of a block in this loop.',
    where: via[0],
  })
}

function fieldRequired(request: LookupRequest, fields: string[]): KeyflowError {
  const [type] = request.name.split('/')
  return new KeyflowError(`${text(request)} names no field, and ${type} has no "${DEFAULT_FIELD}" field to default to.`, {
    code: 'BLOCK_FIELD_REQUIRED',
    exit: ExitCode.USAGE,
    fix: `Name a field: block://${request.name}#FIELD, one of: ${fields.join(', ')}.`,
    where: `reference ${text(request)}`,
  })
}

function unknownField(request: LookupRequest, field: string[], type: string): KeyflowError {
  return new KeyflowError(`Block type ${type} has no field "${field.join('.')}".`, {
    code: 'BLOCK_FIELD_UNKNOWN',
    exit: ExitCode.BAD_VALUE,
    fix: `\`keyflow block type inspect ${type}\` lists its fields (nested ones as credentials.password).`,
    where: `reference ${text(request)}`,
  })
}

function notText(request: LookupRequest, field: string, label: string, value: unknown): KeyflowError {
  const kind = isPlainObject(value) ? 'an object' : Array.isArray(value) ? 'a list' : `a ${typeof value}`
  return new KeyflowError(`Field ${field} of ${label} is ${kind}, not text.`, {
    code: 'BLOCK_FIELD_NOT_TEXT',
    exit: ExitCode.BAD_VALUE,
    fix: isPlainObject(value)
      ? `Name a text field inside it (block://${request.name}#${field}.FIELD), or inject the whole block: keyflow run --block ${label}.`
      : `Inject the whole block, every field as a variable: keyflow run --block ${label}.`,
    where: `reference ${text(request)}`,
  })
}
