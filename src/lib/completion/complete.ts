import {readFileSync} from 'node:fs'

import {SOURCE_KINDS} from '../secret/sources/index.js'

/**
 * Shell completion, computed by keyflow itself: the shell scripts (scripts.ts) pass the words
 * typed so far to `keyflow __complete` and offer what it prints, one `value<TAB>description`
 * per line, or the single line `:files` to let the shell complete paths. Commands and flags
 * come from oclif.manifest.json (no oclif load, so a TAB costs about one node start), flag
 * values from the flags' options, and block types and saved block names from the store
 * (names only: nothing is decrypted).
 */

export const FILES = ':files'

interface ManifestFlag {
  char?: string
  description?: string
  name: string
  options?: string[]
  type: 'boolean' | 'option'
}

interface ManifestCommand {
  args: Record<string, {name: string}>
  description?: string
  flags: Record<string, ManifestFlag>
  hidden?: boolean
  id: string
  summary?: string
}

export interface Manifest {
  commands: Record<string, ManifestCommand>
}

/** What the store knows, asked for only when the position being completed needs it. */
export interface CompletionData {
  blockAddresses(): Promise<string[]>
  blockTypes(): Promise<string[]>
}

export interface Candidate {
  description?: string
  value: string
}

const FILE_FLAGS = new Set(['env-file', 'file', 'from-file', 'rows'])
const ROOT_FLAGS: Candidate[] = [
  {description: 'Show help.', value: '--help'},
  {description: 'Show the version.', value: '--version'},
]

export function readManifest(): Manifest {
  return JSON.parse(readFileSync(new URL('../../../oclif.manifest.json', import.meta.url), 'utf8'))
}

/** The candidates for the last word of `words` (the words after `keyflow`; the last may be empty). */
export async function complete(manifest: Manifest, data: CompletionData, words: string[]): Promise<Candidate[] | typeof FILES> {
  const commands = Object.values(manifest.commands).filter((command) => !command.hidden)
  const current = words.at(-1) ?? ''
  const before = words.slice(0, -1)
  const {command, depth} = commandPath(commands, before)
  if (command) return completeCommand(command, before.slice(depth), current, data)
  if (depth < before.length) return []
  return depth === 0 && current.startsWith('-') ? ROOT_FLAGS : nextWords(commands, before.slice(0, depth))
}

/** The words that are topics or commands, up to the first that is not, and the command they name. */
function commandPath(commands: ManifestCommand[], words: string[]): {command?: ManifestCommand; depth: number} {
  let depth = 0
  while (depth < words.length && !words[depth].startsWith('-')) {
    const id = words.slice(0, depth + 1).join(':')
    const exact = commands.find((candidate) => candidate.id === id)
    if (!exact && !commands.some((candidate) => candidate.id.startsWith(`${id}:`))) break
    depth++
    if (exact) return {command: exact, depth}
  }

  return {depth}
}

/** The topics and commands one level below `prefix`. */
function nextWords(commands: ManifestCommand[], prefix: string[]): Candidate[] {
  const next = new Map<string, string | undefined>()
  for (const candidate of commands) {
    const parts = candidate.id.split(':')
    if (parts.length <= prefix.length || prefix.some((word, index) => parts[index] !== word)) continue
    const word = parts[prefix.length]
    const isCommand = parts.length === prefix.length + 1
    if (!next.has(word) || isCommand) next.set(word, isCommand ? firstLine(candidate) : next.get(word))
  }

  return [...next].map(([value, description]) => ({description, value})).sort((a, b) => a.value.localeCompare(b.value))
}

async function completeCommand(command: ManifestCommand, rest: string[], current: string, data: CompletionData): Promise<Candidate[] | typeof FILES> {
  // After `run --` comes the user's own command line: the shell's own completion fits it.
  if (rest.includes('--')) return FILES
  const flagFor = (word: string) => {
    if (word.startsWith('--')) return command.flags[word.slice(2)]
    if (/^-[^-]$/.test(word)) return Object.values(command.flags).find((flag) => flag.char === word[1])
    
  }

  // --flag=partial in one word (zsh, fish), or `--flag` `=` `partial` (bash splits at =).
  const inline = /^(--[^=]+)=(.*)$/.exec(current)
  const inlineFlag = inline ? flagFor(inline[1]) : undefined
  if (inline && inlineFlag?.type === 'option') return prefixed(`${inline[1]}=`, await flagValues(command, inlineFlag, inline[2], data))
  const previous = rest.at(-1) === '=' ? rest.at(-2) : rest.at(-1)
  const pending = previous === undefined ? undefined : flagFor(previous)
  if (pending?.type === 'option') return flagValues(command, pending, current, data)
  if (current.startsWith('-')) return flagsOf(command)
  const arg = Object.values(command.args)[positionals(command, rest).length]
  if (arg?.name === 'type' || arg?.name === 'slug') return values(await data.blockTypes())
  if (arg?.name === 'block') return values(await data.blockAddresses())
  return []
}

function flagsOf(command: ManifestCommand): Candidate[] {
  return [
    ...Object.values(command.flags)
      .filter((flag) => flag.name !== 'json')
      .map((flag) => ({description: flag.description?.split('\n')[0], value: `--${flag.name}`})),
    {description: 'Format output as JSON.', value: '--json'},
    {description: 'Show help.', value: '--help'},
  ].sort((a, b) => a.value.localeCompare(b.value))
}

/** The positional words among `rest`, skipping flags and the values of option flags. */
function positionals(command: ManifestCommand, rest: string[]): string[] {
  const found: string[] = []
  for (let index = 0; index < rest.length; index++) {
    const word = rest[index]
    if (!word.startsWith('-') || word === '-') {
      found.push(word)
      continue
    }

    const name = word.startsWith('--') ? word.slice(2) : Object.values(command.flags).find((flag) => flag.char === word[1])?.name
    if (name && !word.includes('=') && command.flags[name]?.type === 'option') index++
  }

  return found
}

async function flagValues(command: ManifestCommand, flag: ManifestFlag, current: string, data: CompletionData): Promise<Candidate[] | typeof FILES> {
  if (flag.options) return values(flag.options)
  if (FILE_FLAGS.has(flag.name)) return FILES
  if (flag.name === 'sources') {
    // A comma-separated list: offer the kinds not yet named after what is typed.
    const typed = current.split(',').slice(0, -1)
    const head = typed.length > 0 ? `${typed.join(',')},` : ''
    return SOURCE_KINDS.filter((kind) => !typed.includes(kind)).map((kind) => ({value: `${head}${kind}`}))
  }

  if (flag.name === 'type') return values(await data.blockTypes())
  if (flag.name === 'block') {
    const addresses = await data.blockAddresses()
    return values(command.id === 'sql' ? addresses.filter((address) => address.startsWith('snowflake-connector/')) : addresses)
  }

  return []
}

function values(list: readonly string[]): Candidate[] {
  return [...list].sort().map((value) => ({value}))
}

function prefixed(head: string, found: Candidate[] | typeof FILES): Candidate[] | typeof FILES {
  return found === FILES ? FILES : found.map((candidate) => ({...candidate, value: `${head}${candidate.value}`}))
}

function firstLine(command: ManifestCommand): string | undefined {
  return (command.summary ?? command.description)?.split('\n')[0]
}

/** One line per candidate, `value<TAB>description`; descriptions lose tabs and newlines. */
export function renderCandidates(found: Candidate[] | typeof FILES): string {
  if (found === FILES) return `${FILES}\n`
  return found.map(({description, value}) => (description ? `${value}\t${description.replaceAll(/\s+/g, ' ')}` : value)).join('\n') + (found.length > 0 ? '\n' : '')
}
