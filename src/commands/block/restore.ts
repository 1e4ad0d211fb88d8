import {Args} from '@oclif/core'

import {openBlocksFor} from '../../lib/block/context.js'
import {blockCommandFlags} from '../../lib/block/flags.js'
import {restoreBlock} from '../../lib/block/service.js'
import {BaseCommand} from '../../lib/cli/base-command.js'

export default class BlockRestore extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Bring back a block document whose deletion is scheduled (aws store).

\`keyflow block delete\` on the aws store schedules the deletion of the document's secret after a recovery window (7 days unless --recovery-days); within that window this cancels it and the document is as it was when deleted.`
  static examples = ['<%= config.bin %> <%= command.id %> --store aws snowflake-credentials/prod']
  static flags = {...blockCommandFlags}

  async run(): Promise<{address: string; revision: number; store: string}> {
    const {args, flags} = await this.parse(BlockRestore)
    const result = await restoreBlock(openBlocksFor(flags), args.block)
    this.writeData(`Restored Block '${result.address}' (revision ${result.revision}).\n`)
    return result
  }
}
