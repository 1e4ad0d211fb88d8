import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {resolverFlags, storeFlags} from '../../lib/cli/resolver-flags.js'
import {SECRET_FORMATS} from '../../lib/secret/format.js'
import {secretGet, SecretGetResult} from '../../lib/secret/get.js'

export default class SecretGet extends BaseCommand {
  static args = {
    reference: Args.string({description: 'Secret name or reference (see README "References"); ALIAS=REFERENCE names it in --format output.', required: true}),
  }
static description = `Resolve secrets and print their values.

With one name, the value alone goes to stdout, followed by a newline, ready for $(...).
With several, use --format. The chain is: PREFECT__CONTEXT__SECRETS__NAME, then NAME, then the dotenv files, then AWS Secrets Manager; the first source that has it wins.`
static examples = [
    {command: 'PW=$(<%= config.bin %> <%= command.id %> DB_PASSWORD)', description: 'Read one secret into a shell variable'},
    {command: '<%= config.bin %> <%= command.id %> db-credentials#password', description: 'Read a key of a JSON secret'},
    {command: "<%= config.bin %> <%= command.id %> 'aws-sm://db-credentials?stage=AWSPREVIOUS#password'", description: 'Pin an AWS version stage'},
    {command: 'eval "$(<%= config.bin %> <%= command.id %> DB_USER DB_PASSWORD --format shell)"', description: 'Export several secrets at once'},
    {command: '<%= config.bin %> <%= command.id %> DB_PASSWORD --explain', description: 'Show which source answered and why the others missed'},
  ]
/** bin/run.js serves this command without loading oclif (README "Start-up time"). */
  static fastPath = true
static flags = {
    ...resolverFlags,
    // block://TYPE/NAME#FIELD reads the block store these name.
    ...storeFlags,
    base64: Flags.boolean({description: 'Write values base64-encoded (binary secrets are written raw otherwise).'}),
    explain: Flags.boolean({description: 'Show the chain walked, source by source, instead of the value.'}),
    format: Flags.option({char: 'f', description: 'Write name/value pairs: dotenv lines, a JSON object, or shell exports.', options: SECRET_FORMATS})(),
    newline: Flags.boolean({allowNo: true, default: true, description: 'End a single value with a newline (--no-newline to omit it).'}),
  }
static strict = false

  async run(): Promise<SecretGetResult> {
    const {argv, flags} = await this.parse(SecretGet)
    const output = await secretGet(this.invocation(flags), argv as string[], flags)
    this.writeData(output.stdout)
    return output.json
  }
}
