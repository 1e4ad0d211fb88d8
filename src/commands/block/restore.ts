import {Args} from '@oclif/core'

import {restoreBlock} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {blockCommandFlags} from '../../lib/cli/block-flags.js'

export default class BlockRestore extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Bring back a block document whose deletion is scheduled (aws store).

\`keyflow block delete\` on the aws store schedules the deletion of the document's secret after a recovery window (7 days unless --recovery-days); within that window this cancels it and the document is as it was when deleted.`
  static examples = ['<%= config.bin %> <%= command.id %> --store aws snowflake-credentials/prod']
  static flags = {...blockCommandFlags}

  async run(): Promise<{address: string; revision: number; store: string}> {
    const {args, flags} = await this.parse(BlockRestore)
    const result = await restoreBlock(await this.invocation(flags).blocks(), args.block)
    this.writeData(`Restored Block '${result.address}' (revision ${result.revision}).\n`)
    return result
  }
}
