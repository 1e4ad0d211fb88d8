import {Args, Flags} from '@oclif/core'

import {deleteBlock, DeleteResult} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {blockCommandFlags} from '../../lib/cli/block-flags.js'
import {renderDelete} from '../../lib/cli/block-render.js'

export default class BlockDelete extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Delete a block document.

Asks for confirmation when stdin is a terminal, unless --yes. A document that others reference is not deleted unless --force; the refusal names them.

On the aws store the deletion is scheduled: the secret can be brought back with \`keyflow block restore TYPE/NAME\` for --recovery-days (default 7), unless --force-delete-now. The local store deletes at once.`
  static examples = [
    '<%= config.bin %> <%= command.id %> secret/old-token',
    '<%= config.bin %> <%= command.id %> snowflake-credentials/prod --yes --force',
    {command: '<%= config.bin %> <%= command.id %> --store aws secret/old-token --yes --recovery-days 30', description: 'Recoverable for 30 days'},
  ]
  static flags = {
    ...blockCommandFlags,
    force: Flags.boolean({description: 'Delete even if other documents reference it, or if it is corrupt; without a terminal, also confirms.'}),
    'force-delete-now': Flags.boolean({description: 'aws store: delete at once, without a recovery window (cannot be undone).', exclusive: ['recovery-days']}),
    'recovery-days': Flags.integer({description: 'aws store: days (7-30) during which `keyflow block restore` can undo the deletion (default 7).', max: 30, min: 7}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<DeleteResult> {
    const {args, flags} = await this.parse(BlockDelete)
    const result = await deleteBlock(await this.invocation(flags).blocks(), args.block, {
      force: flags.force,
      forceDeleteNow: flags['force-delete-now'],
      recoveryDays: flags['recovery-days'],
      yes: flags.yes,
    })
    this.writeData(renderDelete(result))
    return result
  }
}
