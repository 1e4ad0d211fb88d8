import {Flags} from '@oclif/core'

import {listBlocks, ListedBlock, Unreadable} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {renderList} from '../../lib/cli/block-render.js'

export default class BlockLs extends BaseCommand {
  static description = 'List the saved block documents. Unreadable ones are named on stderr; the others are listed.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --type snowflake-connector --json']
  static flags = {type: Flags.string({description: 'Only documents of this block type.'})}

  async run(): Promise<{blocks: ListedBlock[]; unreadable: Unreadable[]}> {
    const {flags} = await this.parse(BlockLs)
    const result = await listBlocks(await this.invocation().blocks(), {type: flags.type})
    this.writeData(renderList(result.blocks))
    return result
  }
}
