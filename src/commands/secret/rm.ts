import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {terminalPrompter} from '../../lib/cli/prompt.js'
import {awsFlags, writeFlags} from '../../lib/cli/resolver-flags.js'
import {secretRm} from '../../lib/secret/manage.js'

export default class SecretRm extends BaseCommand {
  static args = {
    reference: Args.string({description: 'NAME, aws-sm://ID or dotenv://NAME, as for `secret set`.', required: true}),
  }
  static description = `Delete a secret.

AWS: a scheduled deletion with a recovery window (default 7 days, --recovery-days 7 to 30); \`keyflow secret restore\` undoes it until then. --force-delete-now deletes at once, with no way back. dotenv: every line that sets the name is removed, atomically. Asks on a terminal; otherwise --yes is required.`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> db-password --to aws', description: 'Schedule an AWS secret for deletion in 7 days'},
    {command: '<%= config.bin %> <%= command.id %> aws-sm://old/token --recovery-days 30 --yes', description: 'A longer recovery window, without asking'},
    {command: '<%= config.bin %> <%= command.id %> DB_PASSWORD --to dotenv=./.env --yes', description: 'Remove a name from a project dotenv file'},
  ]
  static flags = {
    ...awsFlags,
    ...writeFlags,
    'force-delete-now': Flags.boolean({description: 'AWS: delete at once, with no recovery window.', exclusive: ['recovery-days']}),
    'recovery-days': Flags.integer({description: 'AWS: days during which `secret restore` can undo it (7 to 30, default 7).', max: 30, min: 7}),
    yes: Flags.boolean({char: 'y', description: 'Delete without asking.'}),
  }

  async run() {
    const {args, flags} = await this.parse(SecretRm)
    const {json, stdout} = await secretRm(this.invocation(flags), terminalPrompter, args.reference, flags)
    this.writeData(stdout)
    return json
  }
}
