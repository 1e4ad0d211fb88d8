import {Flags, Interfaces} from '@oclif/core'

import {SETTINGS, WRITE_SETTINGS} from '../invocation.js'
import {flagDescription, SettingSpec} from '../settings/spec.js'
import {repeatableFlag} from './repeatable-flag.js'

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
  if (shape.multiple) return repeatableFlag(common)
  return Flags.string({...common, options: shape.options ? [...shape.options] : undefined})
}

const flagsOf = (specs: Record<string, SettingSpec<unknown>>, keep: (spec: SettingSpec<unknown>) => boolean = () => true) =>
  Object.fromEntries(Object.values(specs).filter((spec) => keep(spec)).map((spec) => [spec.flag, flagFor(spec)])) as Record<string, Interfaces.Flag<boolean | number | string | string[] | undefined>>

export const resolverFlags = flagsOf(SETTINGS as Record<string, SettingSpec<unknown>>)

/** How AWS is reached, for the commands that talk to AWS without walking the chain. */
export const awsFlags = flagsOf(SETTINGS as Record<string, SettingSpec<unknown>>, (spec) => spec.helpGroup === 'AWS')

/** `--to`: where `secret set` and `secret rm` put a bare NAME. */
export const writeFlags = flagsOf(WRITE_SETTINGS as Record<string, SettingSpec<unknown>>)
