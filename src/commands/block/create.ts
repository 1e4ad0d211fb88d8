import {Args, Flags} from '@oclif/core'

import {createBlock, WriteResult} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {fieldFlags} from '../../lib/cli/block-flags.js'
import {renderWrite} from '../../lib/cli/block-render.js'

export default class BlockCreate extends BaseCommand {
  // Positional: the key order is the argument order.
  /* eslint-disable perfectionist/sort-objects */
  static args = {
    type: Args.string({description: 'The block type slug, e.g. snowflake-credentials.', required: true}),
    name: Args.string({description: 'The document name: lowercase letters, digits and dashes.', required: true}),
  }
  /* eslint-enable perfectionist/sort-objects */
  static description = `Create a block document: a named, typed set of field values.

Values come from --from-file (a JSON file, or - for stdin), --field, --stdin-field, and, when stdin is a terminal, prompts for required fields still missing (hidden for secret fields). Everything is checked against the type's schema before anything is written. Literal secret values are encrypted at rest; a secret field may instead hold a reference, resolved when the block is loaded.`
  static examples = [
    {
      command: "<%= config.bin %> <%= command.id %> snowflake-credentials prod --field account=xy12345.eu-west-1 --field user=ETL --field 'password=aws-sm://my-snowflake-pw#my-snowflake-pw'",
      description: 'Credentials whose password stays in AWS Secrets Manager',
    },
    {
      command: '<%= config.bin %> <%= command.id %> snowflake-connector prod --field credentials=prod --field database=ANALYTICS --field warehouse=WH --field schema=PUBLIC',
      description: 'A connector that uses the saved credentials',
    },
    {command: 'printf %s "$TOKEN" | <%= config.bin %> <%= command.id %> secret api-token --stdin-field value', description: 'A secret from stdin'},
    {command: '<%= config.bin %> <%= command.id %> aws-credentials dev --from-file - < dev.json', description: 'Fields as JSON on stdin'},
  ]
  static flags = {
    ...fieldFlags,
    input: Flags.boolean({allowNo: true, default: true, description: 'Prompt for missing required fields when stdin is a terminal (--no-input never prompts).'}),
    overwrite: Flags.boolean({description: 'Replace the document if it exists. Secret fields given as ******** keep their stored value.'}),
  }

  async run(): Promise<WriteResult> {
    const {args, flags} = await this.parse(BlockCreate)
    const result = await createBlock(await this.invocation().blocks(), args.type, args.name, flags)
    this.writeData(renderWrite(result))
    return result
  }
}
