import {openBlocksFor} from '../../../lib/block/context.js'
import {blockCommandFlags} from '../../../lib/block/flags.js'
import {renderTypes} from '../../../lib/block/render.js'
import {listBlockTypes, TypeSummary} from '../../../lib/block/types.js'
import {BaseCommand} from '../../../lib/cli/base-command.js'

export default class BlockTypeLs extends BaseCommand {
  static description = 'List the block types: the built-in ones and those registered.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
static flags = {...blockCommandFlags}

  async run(): Promise<{types: TypeSummary[]}> {
    const {flags} = await this.parse(BlockTypeLs)
    const types = await listBlockTypes(openBlocksFor(flags))
    this.writeData(renderTypes(types))
    return {types}
  }
}
