import {Flags, Interfaces} from '@oclif/core'

import {BLOCK_STORE_SETTINGS} from '../block/store/settings.js'
import {CHAIN_SETTINGS} from '../invocation.js'
import {flagDescription, SettingSpec} from '../settings/spec.js'

/**
 * Flags that choose how secrets are resolved, shared by every command that resolves one,
 * generated from the settings' one description (each source declares its own settings). No
 * flag takes its default from the environment here: the settings engine reads KEYFLOW_*
 * itself, and an env-derived default would be baked into the published manifest.
 */
function flagFor(spec: SettingSpec<unknown>) {
  const common = {description: flagDescription(spec), helpGroup: spec.helpGroup}
  const shape = spec.parse.flag
  if (shape.type === 'integer') return Flags.integer({...common, max: shape.max, min: shape.min})
  if (shape.multiple) return Flags.string({...common, multiple: true})
  return Flags.string({...common, options: shape.options ? [...shape.options] : undefined})
}

// Typed as oclif's own flag input: a union of flag types under an index signature is not one.
const flagsOf = (specs: Record<string, SettingSpec<unknown>>) =>
  Object.fromEntries(Object.values(specs).map((spec) => [spec.flag, flagFor(spec)])) as Interfaces.FlagInput

export const resolverFlags = flagsOf(CHAIN_SETTINGS as Record<string, SettingSpec<unknown>>)

/** Which block store (`--store local|aws`) and how the aws one names and tags its secrets. */
export const storeFlags = flagsOf(BLOCK_STORE_SETTINGS as Record<string, SettingSpec<unknown>>)
