import {blockEnv} from '../block/documents/load.js'
import {toKeyflowError} from '../output/render-error.js'
import {InjectionProvider, ProviderResult} from './plan.js'
import {RunDeclarations} from './project.js'

/**
 * `--block TYPE/NAME` and the project file's `run.blocks`: every field of the block, nested
 * blocks and references resolved, as TYPE__NAME__FIELD (docs/blocks.md "Blocks as environment
 * variables"). Only secret fields are masked: masking a database or schema name would garble
 * ordinary output.
 */
export function blockProvider(blocks: RunDeclarations['blocks']): InjectionProvider {
  return async (invocation) => {
    const result: ProviderResult = {injections: [], notes: [], problems: []}
    await Promise.all(
      blocks.map(async ({envStyle, name, optional, origin}) => {
        try {
          const entries = await blockEnv(invocation, name)
          for (const entry of entries) result.injections.push({key: entry.name, kind: 'block', origin, secret: entry.secret, style: envStyle, value: entry.value})
        } catch (error) {
          const keyflowError = toKeyflowError(error)
          if (optional && keyflowError.code === 'BLOCK_NOT_FOUND') result.notes.push(`optional block ${name} (${origin}) was not found; nothing injected for it.`)
          else result.problems.push({error: keyflowError, label: `block ${name} (${origin})`})
        }
      }),
    )
    return result
  }
}
