import {ExitCode, KeyflowError} from '../errors.js'

/**
 * How a setting is described, once: where it is read from (flag, env vars, a path in the config
 * files), its default, and how its raw value is parsed and bounded. The command-line flags are
 * generated from these descriptions (src/lib/cli/resolver-flags.ts), so a bound or a default
 * is written here and nowhere else.
 */

/** The shape of the flag a parser takes, for generating the oclif flag. */
export type FlagShape = {max: number; min: number; type: 'integer'} | {multiple?: boolean; options?: readonly string[]; type: 'string'}

export interface Parser<T> {
  (raw: unknown, where: string): T
  readonly flag: FlagShape
}

export interface SettingSpec<T> {
  /** Path in keyflow.json and config.json, e.g. ['aws', 'region']. */
  configPath: string[]
  default?: T
  /** Help text of the flag; the default is appended to it. */
  description: string
  /** Env vars, first set wins. */
  env: string[]
  /** The command-line flag, e.g. `region` for --region. */
  flag: string
  helpGroup: string
  parse: Parser<T>
  /** Relative paths in a config file are taken from the file's directory. */
  paths?: boolean
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a table of settings of different types
export type SettingSpecs = Record<string, SettingSpec<any>>

/** The values a table of settings resolves to: a setting without a default may be undefined. */
export type SettingValues<S extends SettingSpecs> = {
  -readonly [K in keyof S]: S[K]['parse'] extends Parser<infer T> ? (S[K] extends {default: unknown} ? T : T | undefined) : never
}

export function settingError(message: string, where: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'INVALID_SETTING', exit: ExitCode.USAGE, fix, where})
}

const parser = <T>(parse: (raw: unknown, where: string) => T, flag: FlagShape): Parser<T> => Object.assign(parse, {flag})

export const text: Parser<string> = parser((raw, where) => {
  if (typeof raw !== 'string') throw settingError(`Expected a string.`, where, 'Give a text value.')
  return raw
}, {type: 'string'})

export function integer(min: number, max: number): Parser<number> {
  return parser((raw, where) => {
    const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw settingError(`Expected a whole number from ${min} to ${max}.`, where, `Set a number from ${min} to ${max}.`)
    }

    return value
  }, {max, min, type: 'integer'})
}

export function oneOf<T extends string>(options: readonly T[]): Parser<T> {
  return parser((raw, where) => {
    if (typeof raw !== 'string' || !options.includes(raw as T)) {
      throw settingError(`Expected one of: ${options.join(', ')}.`, where, `Use one of: ${options.join(', ')}.`)
    }

    return raw as T
  }, {options, type: 'string'})
}

/**
 * A list given as an array (config files, repeated flags), taken item by item, or as one
 * separated string (an env var, a single flag), split: a path in an array may hold a `:`.
 * `repeatable` makes the flag repeatable (--env-file a --env-file b) rather than separated.
 */
export function list<T>(item: Parser<T>, separator: RegExp, repeatable: boolean): Parser<T[]> {
  return parser((raw, where) => {
    let parts: unknown[]
    if (Array.isArray(raw)) parts = raw
    else if (typeof raw === 'string') parts = raw.split(separator)
    else throw settingError('Expected a list.', where, 'Give a list of values.')
    return parts.filter((part) => part !== '').map((part) => item(part, where))
  }, {multiple: repeatable, type: 'string'})
}

/** The help text of a setting's flag: its description and, when it has one, its default. */
export function flagDescription(spec: SettingSpec<unknown>): string {
  if (spec.default === undefined || spec.default === '') return spec.description
  const shown = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)
  return `${spec.description.replace(/\.$/, '')} (default ${shown}).`
}
