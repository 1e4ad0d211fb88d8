import {Flags, Interfaces} from '@oclif/core'

import {BLOCK_STORE_SETTINGS} from '../block/store/settings.js'
import {CHAIN_SETTINGS, WRITE_SETTINGS} from '../invocation.js'
import {flagDescription, SettingSpec} from '../settings/spec.js'
import {repeatableFlag} from './repeatable-flag.js'

/**
 * Flags that choose how secrets are resolved, shared by every command that resolves one,
 * generated from the settings' one description (each source declares its own settings). No
 * flag takes its default from the environment here: the settings engine reads KEYFLOW_*
 * itself, and an env-derived default would be baked into the published manifest. A number is
 * taken as text and checked by the settings engine too (not oclif's Flags.integer), as on the
 * fast path, which reads these flags from the manifest: one rule, and one message, for both.
 */
function flagFor(spec: SettingSpec<unknown>) {
  const common = {description: flagDescription(spec), helpGroup: spec.helpGroup}
  const shape = spec.parse.flag
  if (shape.type === 'boolean') return Flags.boolean(common)
  if (shape.type === 'integer') return Flags.string(common)
  if (shape.multiple) return repeatableFlag(common)
  return Flags.string({...common, options: shape.options ? [...shape.options] : undefined})
}

// Typed as oclif's own flag input: a union of flag types under an index signature is not one.
const flagsOf = (specs: Record<string, SettingSpec<unknown>>, keep: (spec: SettingSpec<unknown>) => boolean = () => true) =>
  Object.fromEntries(Object.values(specs).filter((spec) => keep(spec)).map((spec) => [spec.flag, flagFor(spec)])) as Record<string, Interfaces.Flag<boolean | number | string | string[] | undefined>>

export const resolverFlags = flagsOf(CHAIN_SETTINGS as Record<string, SettingSpec<unknown>>)

/** Which block store (`--store local|aws`) and how the aws one names and tags its secrets. */
export const storeFlags = flagsOf(BLOCK_STORE_SETTINGS as Record<string, SettingSpec<unknown>>)

/** How AWS is reached, for the commands that talk to AWS without walking the chain. */
export const awsFlags = flagsOf(CHAIN_SETTINGS as Record<string, SettingSpec<unknown>>, (spec) => spec.helpGroup === 'AWS')

/** `--to`: where `secret set` and `secret rm` put a bare NAME. */
export const writeFlags = flagsOf(WRITE_SETTINGS as Record<string, SettingSpec<unknown>>)
