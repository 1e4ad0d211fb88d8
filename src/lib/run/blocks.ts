import {blockEnv} from '../block/api.js'
import {toKeyflowError} from '../output/render-error.js'
import {ResolvedSettings, Settings} from '../settings/settings.js'
import {InjectionProvider, ProviderResult} from './plan.js'
import {RunDeclarations} from './project.js'

/** The settings already resolved for this run, handed on so blocks resolve their references the same way. */
function sameSettings(settings: ResolvedSettings): Partial<Settings> {
  const {awsConnectTimeoutMs, awsMaxAttempts, awsPrefix, awsProfile, awsRegion, awsRequestTimeoutMs, awsRetryMode, awsRole, awsTotalTimeoutMs, envFiles, sources} = settings
  return {awsConnectTimeoutMs, awsMaxAttempts, awsPrefix, awsProfile, awsRegion, awsRequestTimeoutMs, awsRetryMode, awsRole, awsTotalTimeoutMs, envFiles, sources}
}

/**
 * `--block TYPE/NAME` and the project file's `run.blocks`: every field of the block, nested
 * blocks and references resolved, as TYPE__NAME__FIELD (docs/blocks.md "Blocks as environment
 * variables"). Only secret fields are masked: masking a database or schema name would garble
 * ordinary output.
 */
export function blockProvider(blocks: RunDeclarations['blocks']): InjectionProvider {
  return async (settings) => {
    const result: ProviderResult = {injections: [], notes: [], problems: []}
    await Promise.all(
      blocks.map(async ({name, optional, origin}) => {
        try {
          const entries = await blockEnv(name, {cwd: settings.cwd, env: settings.env, settings: sameSettings(settings)})
          for (const entry of entries) result.injections.push({key: entry.name, origin, secret: entry.secret, value: entry.value})
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
