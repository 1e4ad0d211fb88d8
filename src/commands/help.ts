import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {CommandDescription, describeCommands, showHelp} from '../lib/cli/help.js'

export default class Help extends BaseCommand {
  static args = {command: Args.string({description: 'The command or topic to describe, e.g. `block create`.', required: false})}
  static description = 'Show help for keyflow, a topic or a command; with --json, the commands, their flags and arguments as data.'
  static examples = ['<%= config.bin %> <%= command.id %> block create', '<%= config.bin %> <%= command.id %> --json']
  static flags = {'nested-commands': Flags.boolean({char: 'n', description: 'List the commands of every topic, nested ones included.'})}
  static strict = false

  async run(): Promise<{commands: CommandDescription[]}> {
    const {argv, flags} = await this.parse(Help)
    const words = argv as string[]
    const commands = describeCommands(this.config, words)
    if (!this.jsonEnabled()) await showHelp(this.config, words, flags['nested-commands'])
    return {commands}
  }
}
