import {Interfaces} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {resolverFlags} from '../../lib/cli/resolver-flags.js'
import {secretLs, SecretLsResult} from '../../lib/secret/ls.js'

export default class SecretLs extends BaseCommand {
  static description = `List the secrets each source holds, by name, never by value.

Per source: Prefect context variables (PREFECT__CONTEXT__SECRETS__*), environment variables whose names look like secrets (…PASSWORD, …TOKEN, …SECRET, …KEY, …), each dotenv file's names with file:line, and AWS secrets under the configured prefix (ListSecrets, paged) with their last-changed date and stages. A name several sources hold is marked with the one the chain answers with: the answer to "why do I get the old password?".`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'Every source, in chain order'},
    {command: '<%= config.bin %> <%= command.id %> --sources dotenv,aws --prefix prod/', description: 'Only dotenv files and AWS secrets under prod/'},
    {command: '<%= config.bin %> <%= command.id %> --json', description: 'As JSON, with each source\'s status'},
  ]
  static flags: Interfaces.FlagInput = {...resolverFlags}

  async run(): Promise<SecretLsResult> {
    const {flags} = await this.parse(SecretLs)
    const {json, stdout} = await secretLs(this.invocation(flags))
    this.writeData(stdout)
    return json
  }
}
