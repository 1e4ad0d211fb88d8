import {listBlockTypes, TypeSummary} from '../../../lib/block/types/register.js'
import {BaseCommand} from '../../../lib/cli/base-command.js'
import {renderTypes} from '../../../lib/cli/block-render.js'

export default class BlockTypeLs extends BaseCommand {
  static description = 'List the block types: the built-in ones and those registered.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<{types: TypeSummary[]}> {
    await this.parse(BlockTypeLs)
    const types = await listBlockTypes(await this.invocation().blocks())
    this.writeData(renderTypes(types))
    return {types}
  }
}
