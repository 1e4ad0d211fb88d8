import {Args, Flags} from '@oclif/core'

import {deleteBlock} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'

export default class BlockDelete extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Delete a block document.

Asks for confirmation when stdin is a terminal, unless --yes. A document that others reference is not deleted unless --force; the refusal names them.`
  static examples = ['<%= config.bin %> <%= command.id %> secret/old-token', '<%= config.bin %> <%= command.id %> snowflake-credentials/prod --yes --force']
  static flags = {
    force: Flags.boolean({description: 'Delete even if other documents reference it, or if it is corrupt; without a terminal, also confirms.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<{address: string; deleted: boolean; referrers: string[]}> {
    const {args, flags} = await this.parse(BlockDelete)
    const result = await deleteBlock(await this.invocation().blocks(), args.block, flags)
    this.writeData(result.deleted ? `Deleted Block '${result.address}'.\n` : 'Not deleted.\n')
    return result
  }
}
