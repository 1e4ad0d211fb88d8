import {ExitCode, KeyflowError} from '../errors.js'

/**
 * How a setting is described, once: where it is read from (flag, env vars, a path in the config
 * files), its default, and how its raw value is parsed and bounded. The command-line flags are
 * generated from these descriptions (src/lib/cli/resolver-flags.ts), so a bound or a default
 * is written here and nowhere else.
 */

/** The shape of the flag a parser takes, for generating the oclif flag. */
export type FlagShape =
  | {max: number; min: number; type: 'integer'}
  | {multiple?: boolean; options?: readonly string[]; type: 'string'}
  | {type: 'boolean'}

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

/** Text of a known shape, e.g. an ARN: `what` and `example` say what is expected. */
export function matching(pattern: RegExp, what: string, example: string): Parser<string> {
  return parser((raw, where) => {
    if (typeof raw !== 'string' || !pattern.test(raw.trim())) throw settingError(`Expected ${what}.`, where, `Give ${what}, e.g. ${example}.`)
    return raw.trim()
  }, {type: 'string'})
}

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

/** A switch: true/false in a config file, a present flag, or 1/0, true/false in an env var. */
export const boolean: Parser<boolean> = parser((raw, where) => {
  if (typeof raw === 'boolean') return raw
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined
  if (text === '1' || text === 'true' || text === 'yes') return true
  if (text === '0' || text === 'false' || text === 'no') return false
  throw settingError('Expected true or false.', where, 'Give true or false (1 or 0 in an environment variable).')
}, {type: 'boolean'})

const DURATION_UNITS: Record<string, number> = {d: 86_400_000, h: 3_600_000, m: 60_000, ms: 1, s: 1000}

/**
 * A duration in milliseconds, written as Go and systemd write them: "90s", "5m", "1h30m",
 * "24h", "1d", "250ms"; a bare number is seconds. Bounded by `min` and `max` (milliseconds).
 */
export function duration(min: number, max: number): Parser<number> {
  return parser((raw, where) => {
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : undefined
    const bad = () => settingError(`Expected a duration from ${formatDuration(min)} to ${formatDuration(max)}, like "90s", "5m", "1h30m" or "24h".`, where, 'Write a number followed by ms, s, m, h or d; parts may be combined (1h30m).')
    if (text === undefined || text === '') throw bad()
    let ms: number
    if (/^\d+$/.test(text)) {
      ms = Number(text) * 1000
    } else {
      if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) throw bad()
      ms = 0
      for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(amount) * DURATION_UNITS[unit]
    }

    if (!Number.isSafeInteger(ms) || ms < min || ms > max) throw bad()
    return ms
  }, {type: 'string'})
}

/** A duration as a person reads it: 1h30m, 45s, 250ms. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  let rest = Math.round(ms / 1000)
  const parts: string[] = []
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }

  return parts.join('')
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
