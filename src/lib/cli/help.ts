import {Command, Interfaces, loadHelpClass} from '@oclif/core'

import {unknownCommandError, vocabularyOf} from './unknown-command.js'

/** One command as `keyflow help --json` describes it: what a completion script or a wrapper needs. */
export interface CommandDescription {
  aliases: string[]
  args: Array<{description?: string; name: string; options?: readonly string[]; required: boolean}>
  command: string
  description?: string
  examples: string[]
  flags: Array<{
    char?: string
    default?: unknown
    description?: string
    multiple: boolean
    name: string
    options?: readonly string[]
    required: boolean
    type: 'boolean' | 'option'
  }>
  summary?: string
}

/**
 * The commands a `keyflow help WORDS...` line is about: the one it names, every command of the
 * topic it names, or all of them. Words that name neither are an unknown-command error.
 */
export function describeCommands(config: Interfaces.Config, words: string[]): CommandDescription[] {
  return commandsFor(config, words).map((command) => describeCommand(config, command))
}

function commandsFor(config: Interfaces.Config, words: string[]): Command.Loadable[] {
  const id = words.join(':')
  // Code-unit order, which for command ids is localeCompare's (test/unit/cli/command-order.test.ts) without loading ICU's collation.
  const visible = config.commands.filter((command) => !command.hidden).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  if (words.length === 0) return visible
  const command = config.findCommand(id)
  if (command) return [command]
  if (config.findTopic(id)) return visible.filter((candidate) => candidate.id.startsWith(`${id}:`))
  throw unknownCommandError(config.bin, vocabularyOf(config), id)
}

function describeCommand(config: Interfaces.Config, command: Command.Loadable): CommandDescription {
  const spaced = (id: string) => id.replaceAll(':', config.topicSeparator)
  const render = (example: Command.Example) => (typeof example === 'string' ? example : example.command)
    .replaceAll('<%= config.bin %>', config.bin)
    .replaceAll('<%= command.id %>', spaced(command.id))
  return {
    aliases: command.aliases.map((alias) => spaced(alias)),
    args: Object.values(command.args).map((arg) => ({description: arg.description, name: arg.name, options: arg.options, required: arg.required ?? false})),
    command: `${config.bin} ${spaced(command.id)}`,
    description: command.description,
    examples: (command.examples ?? []).map((example) => render(example)),
    flags: Object.values(command.flags)
      .filter((flag) => !flag.hidden)
      .map((flag) => ({
        char: flag.char,
        default: typeof flag.default === 'function' ? undefined : flag.default,
        description: flag.description,
        multiple: flag.type === 'option' && (flag.multiple ?? false),
        name: flag.name,
        options: flag.type === 'option' ? flag.options : undefined,
        required: flag.required ?? false,
        type: flag.type,
      })),
    summary: command.summary,
  }
}

/** The text help oclif renders, for people. */
export async function showHelp(config: Interfaces.Config, words: string[], nested: boolean): Promise<void> {
  const Help = await loadHelpClass(config)
  await new Help(config, {all: nested}).showHelp(words)
}
