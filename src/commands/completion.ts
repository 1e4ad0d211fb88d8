import {Args} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {completionScript, loginShell, SETUP, Shell, SHELLS} from '../lib/completion/scripts.js'
import {ExitCode, KeyflowError} from '../lib/errors.js'

export default class Completion extends BaseCommand {
  static args = {shell: Args.string({description: 'bash, zsh or fish (default: the shell of $SHELL).', options: [...SHELLS], required: false})}
  static description = `Print the shell completion script: commands, flags, flag values, --sources lists, block types and saved block names.

bash: add  eval "$(keyflow completion bash)"  to ~/.bashrc
zsh:  add  source <(keyflow completion zsh)  to ~/.zshrc (after compinit)
fish: run  keyflow completion fish > ~/.config/fish/completions/keyflow.fish

keyflow doctor says whether completion is set up.`
  static examples = ['<%= config.bin %> <%= command.id %> bash', 'eval "$(<%= config.bin %> <%= command.id %> bash)"']

  async run(): Promise<{script: string; setup: string; shell: Shell}> {
    const {args} = await this.parse(Completion)
    const shell = (args.shell as Shell | undefined) ?? loginShell()
    if (!shell) {
      throw new KeyflowError('Which shell? $SHELL is not bash, zsh or fish.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Name it: keyflow completion bash (or zsh, fish).'})
    }

    const script = completionScript(shell)
    this.writeData(script)
    return {script, setup: SETUP[shell].how, shell}
  }
}
