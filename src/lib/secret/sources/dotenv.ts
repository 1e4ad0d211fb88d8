import type {DotenvParseOutput} from 'dotenv'

import {join} from 'node:path'

import {ExitCode, KeyflowError} from '../../errors.js'
import {SettingsBase} from '../../settings/settings.js'
import {list, SettingValues, text} from '../../settings/spec.js'
import {readTrustedFile} from '../../util/trusted-file.js'
import {utf8Text} from '../../util/utf8.js'
import {defineSource, failure, hit, ListedName, miss, Outcome, SecretSource} from '../source.js'

const dotenvSettings = {
  envFiles: {
    configPath: ['envFiles'],
    description: 'A dotenv file to read, instead of ./.env and $KEYFLOW_HOME/secrets.env. Repeatable; the first file that has the name wins.',
    env: ['KEYFLOW_ENV_FILES'],
    flag: 'env-file',
    helpGroup: 'SOURCES',
    parse: list(text, /:/, true),
    paths: true,
  },
}

type DotenvSettings = SettingsBase & SettingValues<typeof dotenvSettings>

export interface EnvFile {
  /** Named by the user (--env-file, KEYFLOW_ENV_FILES, envFiles): a missing one is an error. */
  explicit: boolean
  path: string
}

export type Parsed = {error: KeyflowError} | {missing: true} | {text: string; values: Record<string, string>}
type Parse = (text: string) => DotenvParseOutput

/** The env files to read, in order; the first that holds a name wins. */
export function envFiles(settings: DotenvSettings): EnvFile[] {
  if (settings.envFiles) return settings.envFiles.map((path) => ({explicit: true, path}))
  return [
    {explicit: false, path: join(settings.cwd, '.env')},
    {explicit: false, path: join(settings.home, 'secrets.env')},
  ]
}

/**
 * Local config: dotenv files read with dotenv.parse, so process.env is never touched and
 * nothing is printed. A BOM is dropped; CRLF line ends are dotenv's own business.
 */
export function readEnvFile(file: EnvFile, parse: Parse): Parsed {
  const unreadable = (reason: string, code = 'ENV_FILE_UNREADABLE') =>
    new KeyflowError(`Cannot read env file: ${reason}.`, {
      code,
      exit: ExitCode.SOURCE_FAILURE,
      fix: code === 'ENV_FILE_NOT_FOUND' ? 'Check the path given to --env-file.' : 'Check the file and its permissions.',
      where: file.path,
    })
  let bytes: Buffer
  try {
    // A file another user owns or may write would let them choose the secrets: the config-file rule.
    const found = readTrustedFile(file.path, {followLink: true, unreadable, what: 'env file'})
    if (!found) return file.explicit ? {error: unreadable('no such file', 'ENV_FILE_NOT_FOUND')} : {missing: true}
    bytes = found.bytes
  } catch (error) {
    if (error instanceof KeyflowError) return {error}
    throw error
  }

  try {
    const text = envFileText(bytes, file.path)
    return {text, values: parse(text)}
  } catch (error) {
    return {error: error as KeyflowError}
  }
}

/** The text of an env file's bytes (BOM dropped); throws when it is not UTF-8 or has a line that is not an entry. */
export function envFileText(bytes: Uint8Array, path: string): string {
  const decoded = utf8Text(bytes)
  if (decoded === undefined) {
    throw new KeyflowError('The env file is not valid UTF-8.', {
      code: 'ENV_FILE_MALFORMED',
      exit: ExitCode.SOURCE_FAILURE,
      fix: 'Save the file as UTF-8.',
      where: path,
    })
  }

  const text = decoded.replace(/^\uFEFF/, '')
  const bad = malformedLine(text)
  if (bad !== undefined) {
    throw new KeyflowError(`Line ${bad} of the env file is not NAME=VALUE.`, {
      code: 'ENV_FILE_MALFORMED',
      exit: ExitCode.SOURCE_FAILURE,
      fix: 'Write each entry as NAME=VALUE (optionally after `export `), quote values that span lines, and start comments with #.',
      where: `${path}:${bad}`,
    })
  }

  return text
}

/**
 * One dotenv entry, as dotenv.parse reads it: optional `export`, a name, `=` (or `: `), then a
 * quoted value (which may span lines) or a bare one, and an optional comment.
 */
const ENTRY = /^[\t ]*(?:export[\t ]+)?(?<name>[\w.-]+)(?:[\t ]*=[\t ]*|:[\t ]+)(?:'(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`|[^\n#]*)?(?<comment>[\t ]*(?:#.*)?)$/gm

export interface DotenvEntry {
  /** The text after the value: ` # comment`, kept when the value is replaced. */
  comment: string
  /** The entry's first and last line, 0-based (a quoted value may span lines). */
  firstLine: number
  lastLine: number
  name: string
}

/** Every entry of an env file's text, in file order (a name may occur more than once; dotenv lets the last win). */
export function scanDotenv(text: string): DotenvEntry[] {
  const normalized = text.replaceAll(/\r\n?/g, '\n')
  const entries: DotenvEntry[] = []
  let line = 0
  let counted = 0
  for (const match of normalized.matchAll(ENTRY)) {
    for (; counted < match.index; counted++) if (normalized[counted] === '\n') line++
    const span = match[0].split('\n').length - 1
    entries.push({comment: match.groups?.comment ?? '', firstLine: line, lastLine: line + span, name: match.groups!.name})
  }

  return entries
}

/**
 * The first line that is neither blank, a comment, nor part of an entry. dotenv.parse skips
 * such lines silently, so a typo (`DB_PASSWORD hunter2`) would make the name look missing and
 * let a later source answer instead; keyflow reports the line (never its text) instead.
 */
function malformedLine(text: string): number | undefined {
  const normalized = text.replaceAll(/\r\n?/g, '\n')
  const covered = new Uint8Array(normalized.length + 1)
  for (const match of normalized.matchAll(ENTRY)) covered.fill(1, match.index, match.index + match[0].length)
  let offset = 0
  for (const [index, line] of normalized.split('\n').entries()) {
    const blank = /^\s*(?:#.*)?$/.test(line)
    if (!blank && !covered.subarray(offset, offset + line.length).includes(1)) return index + 1
    offset += line.length + 1
  }

  return undefined
}

/**
 * The line dotenv reads each name from (the last entry wins), 1-based: indexed once per file,
 * since one run may ask for thousands of names.
 */
function lineIndex(text: string): Map<string, number> {
  return new Map(scanDotenv(text).map((entry) => [entry.name, entry.firstLine + 1]))
}

/** One env file read as the chain reads it, for keyflow doctor: how many entries, absent, or the error (a line number, never text). */
export async function inspectEnvFile(file: EnvFile): Promise<{entries: number} | {error: KeyflowError} | {missing: true}> {
  const {parse} = await import('dotenv')
  const parsed = readEnvFile(file, parse)
  return 'values' in parsed ? {entries: Object.keys(parsed.values).length} : parsed
}

export function dotenvSource(settings: DotenvSettings): SecretSource {
  const files = envFiles(settings)
  const cache = new Map<string, Parsed>()
  const read = (file: EnvFile, parse: Parse): Parsed => {
    let parsed = cache.get(file.path)
    if (!parsed) cache.set(file.path, (parsed = readEnvFile(file, parse)))
    return parsed
  }

  const lineIndexes = new Map<string, Map<string, number>>()
  const linesOf = (file: EnvFile, text: string): Map<string, number> => {
    let lines = lineIndexes.get(file.path)
    if (!lines) lineIndexes.set(file.path, (lines = lineIndex(text)))
    return lines
  }

  return {
    kind: 'dotenv',
    /** Each file's names, in file order, with the line dotenv reads each from (the last). */
    async list() {
      const {parse} = await import('dotenv')
      const names: ListedName[] = []
      const missing: string[] = []
      for (const file of files) {
        const parsed = read(file, parse)
        if ('error' in parsed) throw parsed.error
        if ('missing' in parsed) {
          missing.push(file.path)
          continue
        }

        const lines = linesOf(file, parsed.text)
        for (const name of Object.keys(parsed.values)) names.push({name, where: `${file.path}:${lines.get(name) ?? '?'}`})
      }

      return {detail: missing.length > 0 ? `no such file: ${missing.join(', ')}` : undefined, names}
    },
    async lookup(requests) {
      // Loaded only when the chain gets here, which a hit in the environment never does
      // (README "Start-up time").
      const {parse} = await import('dotenv')
      return requests.map(({name}): Outcome => {
        const notes: string[] = []
        let existing: string | undefined
        for (const file of files) {
          const parsed = read(file, parse)
          if ('error' in parsed) return failure(parsed.error)
          if ('missing' in parsed) {
            notes.push(`${file.path} (no such file)`)
            continue
          }

          existing ??= file.path
          if (Object.hasOwn(parsed.values, name)) {
            return hit(parsed.values[name], {file: file.path, line: linesOf(file, parsed.text).get(name), source: 'dotenv'})
          }

          notes.push(file.path)
        }

        // The file the user already keeps secrets in; else the private one under the keyflow home.
        const target = existing ?? files.at(-1)?.path ?? '.env'
        return miss(`not in ${notes.join(', ')}`, `add ${name}=... to ${target}`)
      })
    },
  }
}

export type DotenvProvenance = {file: string; line?: number; source: 'dotenv'}

export const dotenvPlugin = defineSource<DotenvProvenance, typeof dotenvSettings>({
  describe: (provenance) => `${provenance.file}${provenance.line ? `:${provenance.line}` : ''}`,
  kind: 'dotenv',
  open: ({settings}) => dotenvSource(settings),
  schemes: ['dotenv'],
  settings: dotenvSettings,
})
