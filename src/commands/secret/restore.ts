import {Args, Interfaces} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {awsFlags} from '../../lib/cli/resolver-flags.js'
import {secretRestore} from '../../lib/secret/manage.js'

export default class SecretRestore extends BaseCommand {
  static args = {
    reference: Args.string({description: 'NAME (with the configured prefix) or aws-sm://ID.', required: true}),
  }
  static description = 'Undo the scheduled deletion of an AWS secret (`keyflow secret rm`) within its recovery window.'
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> db-password', description: 'Bring back a secret scheduled for deletion'},
    {command: '<%= config.bin %> <%= command.id %> aws-sm://prod/db --json', description: 'By its full id, as JSON'},
  ]
  static flags: Interfaces.FlagInput = {...awsFlags}

  async run() {
    const {args, flags} = await this.parse(SecretRestore)
    const {json, stdout} = await secretRestore(this.invocation(flags), args.reference)
    this.writeData(stdout)
    return json
  }
}
