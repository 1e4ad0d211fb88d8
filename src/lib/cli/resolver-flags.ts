import {Flags, Interfaces} from '@oclif/core'

import {SETTINGS} from '../invocation.js'
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
  if (shape.type === 'boolean') return Flags.boolean(common)
  if (shape.type === 'integer') return Flags.integer({...common, max: shape.max, min: shape.min})
  if (shape.multiple) return Flags.string({...common, multiple: true})
  return Flags.string({...common, options: shape.options ? [...shape.options] : undefined})
}

export const resolverFlags = Object.fromEntries(
  Object.values(SETTINGS as Record<string, SettingSpec<unknown>>).map((spec) => [spec.flag, flagFor(spec)]),
) as Record<string, Interfaces.Flag<boolean | number | string | string[] | undefined>>
