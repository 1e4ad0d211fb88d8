import {Flags} from '@oclif/core'

/**
 * A flag given once per value (--field a=1 --field b=2). oclif's `multiple` alone is greedy:
 * `block create --field account=x secret foo` would take `secret` and `foo` as more fields and
 * then miss both arguments. Every repeatable flag of keyflow is made here, one value per
 * occurrence.
 */
export function repeatableFlag(options: {description: string; helpGroup?: string}) {
  return Flags.string({...options, multiple: true, multipleNonGreedy: true})
}
