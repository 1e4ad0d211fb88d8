import {Args} from '@oclif/core'

import {updateBlock, WriteResult} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {fieldFlags} from '../../lib/cli/block-flags.js'
import {renderWrite} from '../../lib/cli/block-render.js'
import {repeatableFlag} from '../../lib/cli/repeatable-flag.js'

export default class BlockUpdate extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Change single fields of a block document.

The other fields keep their values. A secret field given as ******** (e.g. from inspect output) keeps its stored value. A change made concurrently by another process is merged: this update is applied again on top of it.`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> snowflake-connector/prod --field warehouse=BIG_WH', description: 'Change one field'},
    {command: '<%= config.bin %> <%= command.id %> snowflake-credentials/prod --unset role', description: 'Remove an optional field'},
    {command: 'printf %s "$NEW_PW" | <%= config.bin %> <%= command.id %> snowflake-credentials/prod --stdin-field password', description: 'Rotate a secret field'},
  ]
  static flags = {
    ...fieldFlags,
    unset: repeatableFlag({description: 'Remove this field (dotted path). Repeatable.'}),
  }

  async run(): Promise<WriteResult> {
    const {args, flags} = await this.parse(BlockUpdate)
    const result = await updateBlock(await this.invocation().blocks(), args.block, flags)
    this.writeData(renderWrite(result))
    return result
  }
}
