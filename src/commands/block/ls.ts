import {Flags} from '@oclif/core'

import {openBlocksFor} from '../../lib/block/context.js'
import {blockCommandFlags} from '../../lib/block/flags.js'
import {renderList} from '../../lib/block/render.js'
import {BlockList, listBlocks} from '../../lib/block/service.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {note} from '../../lib/output/warn.js'

export default class BlockLs extends BaseCommand {
  static description = 'List the saved block documents. Unreadable ones are named on stderr; the others are listed.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --type snowflake-connector --json']
  static flags = {...blockCommandFlags, type: Flags.string({description: 'Only documents of this block type.'})}

  async run(): Promise<BlockList> {
    const {flags} = await this.parse(BlockLs)
    const result = await listBlocks(openBlocksFor(flags), {type: flags.type})
    this.writeData(renderList(result.blocks))
    if (!this.jsonEnabled()) note(`store: ${result.store} (${result.location})`)
    return result
  }
}
