import {blockEnvs} from '../block/documents/load.js'
import {parseBlockAddress} from '../block/names.js'
import {toKeyflowError} from '../output/render-error.js'
import {InjectionProvider, ProviderResult} from './plan.js'
import {RunDeclarations} from './project.js'

/**
 * `--block TYPE/NAME` and the project file's `run.blocks`: every field of the block, nested
 * blocks and references resolved, as TYPE__NAME__FIELD (docs/blocks.md "Blocks as environment
 * variables"). All blocks load together: one store batch per level of nesting. Only secret
 * fields are masked: masking a database or schema name would garble ordinary output.
 */
export function blockProvider(blocks: RunDeclarations['blocks']): InjectionProvider {
  return async (invocation) => {
    const result: ProviderResult = {injections: [], notes: [], problems: []}
    const loaded = await blockEnvs(invocation, blocks.map(({name}) => name))
    const {store} = await invocation.blocks()
    for (const [index, outcome] of loaded.entries()) {
      const {envStyle, name, optional, origin} = blocks[index]
      if (outcome.status === 'fulfilled') {
        // Named as block:// names a field (block/source.ts), so --explain says which store and document answered.
        const {name: document, type} = parseBlockAddress(name)
        const where = store.where(`documents/${type}/${document}`)
        for (const entry of outcome.value) {
          const provenance = {field: entry.path, name: document, source: 'block', store: store.kind, type, where}
          result.injections.push({key: entry.name, kind: 'block', origin, provenance, secret: entry.secret, style: envStyle, value: entry.value})
        }

        continue
      }

      const keyflowError = toKeyflowError(outcome.reason)
      if (optional && keyflowError.code === 'BLOCK_NOT_FOUND') result.notes.push(`optional block ${name} (${origin}) was not found; nothing injected for it.`)
      else result.problems.push({error: keyflowError, label: `block ${name} (${origin})`})
    }

    return result
  }
}
