import {Args, Interfaces} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {awsFlags} from '../../lib/cli/resolver-flags.js'
import {secretVersions} from '../../lib/secret/manage.js'

export default class SecretHistory extends BaseCommand {
  static args = {
    reference: Args.string({description: 'NAME (with the configured prefix) or aws-sm://ID.', required: true}),
  }
  static description = `List the versions of an AWS secret, newest first: version id, stages, created date.

Pin one with aws-sm://NAME?version-id=ID or ?stage=AWSPREVIOUS in \`secret get\` and \`run\`.`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> db-password', description: 'The versions of a secret'},
    {command: "<%= config.bin %> <%= command.id %> db-password --json", description: 'As JSON'},
    {command: "<%= config.bin %> secret get 'aws-sm://db-password?stage=AWSPREVIOUS'", description: 'Then read the previous version'},
  ]
  static flags: Interfaces.FlagInput = {...awsFlags}

  async run() {
    const {args, flags} = await this.parse(SecretHistory)
    const {json, stdout} = await secretVersions(this.invocation(flags), args.reference)
    this.writeData(stdout)
    return json
  }
}
