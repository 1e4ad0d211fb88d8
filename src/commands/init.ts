import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {canPrompt, confirm} from '../lib/cli/prompt.js'
import {ExitCode, KeyflowError} from '../lib/errors.js'
import {applyInit, InitStep, planInit, renderInit} from '../lib/init/init.js'

export default class Init extends BaseCommand {
  static description = `Set up keyflow for the project in the working directory: a keyflow.json declaring the secrets named in .env.example (or .env; names only), a private $KEYFLOW_HOME/secrets.env if there is none, and .env in .gitignore.

Nothing is ever overwritten: an existing keyflow.json is an error (exit 7). At a terminal, keyflow init shows what it will write and asks first; --yes does not ask.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --yes --json']
  static flags = {yes: Flags.boolean({char: 'y', description: 'Write without asking.'})}

  async run(): Promise<{steps: InitStep[]}> {
    const {flags} = await this.parse(Init)
    const plan = planInit(process.cwd())
    if (!flags.yes && canPrompt()) {
      process.stderr.write(renderInit(plan.steps, false))
      if (!(await confirm('Write these files?'))) throw new KeyflowError('Nothing was written.', {code: 'CANCELLED', exit: ExitCode.USAGE, fix: 'Run `keyflow init` again when ready, or with --yes.'})
    }

    const steps = applyInit(plan)
    this.writeData(renderInit(steps, true))
    return {steps}
  }
}
