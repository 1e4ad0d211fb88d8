import {Flags} from '@oclif/core'

import {BlockList, listBlocks} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {blockCommandFlags} from '../../lib/cli/block-flags.js'
import {renderList} from '../../lib/cli/block-render.js'
import {note} from '../../lib/output/warn.js'

export default class BlockLs extends BaseCommand {
  static description = 'List the saved block documents. Unreadable ones are named on stderr; the others are listed.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --type snowflake-connector --json']
  static flags = {...blockCommandFlags, type: Flags.string({description: 'Only documents of this block type.'})}

  async run(): Promise<BlockList> {
    const {flags} = await this.parse(BlockLs)
    const result = await listBlocks(await this.invocation(flags).blocks(), {type: flags.type})
    this.writeData(renderList(result.blocks))
    if (!this.jsonEnabled()) note(`store: ${result.store} (${result.location})`)
    return result
  }
}
