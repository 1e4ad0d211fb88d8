import {Parser, settingError} from '../../settings/spec.js'
import {SourcePlugin} from '../source.js'
import {awsPlugin} from './aws.js'
import {contextPlugin} from './context-env.js'
import {dotenvPlugin} from './dotenv.js'
import {envPlugin} from './env.js'

/**
 * The sources keyflow ships, in the chain's default order. Adding a source is one file under
 * this folder (a SourcePlugin: kind, schemes, settings, provenance, lookup) and one line here.
 */
export const BUILTIN_SOURCES = [contextPlugin, envPlugin, dotenvPlugin, awsPlugin] as const

export type BuiltinSourceKind = 'aws' | 'context' | 'dotenv' | 'env'

export const SOURCE_KINDS: readonly string[] = BUILTIN_SOURCES.map((plugin) => plugin.kind)

/** The `sources` setting: which of `plugins` to try, in order. */
export function sourceListSetting(plugins: readonly SourcePlugin[]) {
  const kinds = plugins.filter((plugin) => !plugin.schemeOnly).map((plugin) => plugin.kind)
  const item = (raw: unknown, where: string): string => {
    const value = typeof raw === 'string' ? raw.trim() : raw
    if (typeof value !== 'string' || !kinds.includes(value)) {
      throw settingError(`Unknown source ${JSON.stringify(value)}.`, where, `Sources are: ${kinds.join(', ')} (comma-separated, in the order to try them).`)
    }

    return value
  }

  const parse: Parser<string[]> = Object.assign(
    (raw: unknown, where: string) => {
      let parts: unknown[]
      if (Array.isArray(raw)) parts = raw
      else if (typeof raw === 'string') parts = raw.split(',')
      else throw settingError('Expected a list.', where, 'Give a list of values.')
      const sources = parts.filter((part) => part !== '').map((part) => item(part, where))
      if (sources.length === 0) throw settingError('The source list is empty.', where, `Name at least one of: ${kinds.join(', ')}.`)
      const duplicate = sources.find((source, index) => sources.indexOf(source) !== index)
      if (duplicate) throw settingError(`Source "${duplicate}" is listed twice.`, where, 'Name each source once.')
      return sources
    },
    {flag: {type: 'string' as const}},
  )
  return {
    configPath: ['sources'],
    default: kinds,
    description: 'Sources to try, in order, comma-separated.',
    env: ['KEYFLOW_SOURCES'],
    flag: 'sources',
    helpGroup: 'SOURCES',
    parse,
  }
}

type Union<T> = T extends readonly [infer Head, ...infer Tail] ? Head & Union<Tail> : unknown
type SettingsOfPlugins<P extends readonly SourcePlugin[]> = Union<{[I in keyof P]: P[I]['settings']}>

/** Every setting the chain reads: the source list, then each source's own. */
export function chainSettings<P extends readonly SourcePlugin[]>(plugins: P): SettingsOfPlugins<P> & {sources: ReturnType<typeof sourceListSetting>} {
  return Object.assign({sources: sourceListSetting(plugins)}, ...plugins.map((plugin) => plugin.settings))
}
