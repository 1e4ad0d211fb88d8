import {Args} from '@oclif/core'

import {openBlocksFor} from '../../../lib/block/context.js'
import {blockCommandFlags} from '../../../lib/block/flags.js'
import {renderTypeDetails} from '../../../lib/block/render.js'
import {inspectBlockType, TypeDetails} from '../../../lib/block/types.js'
import {BaseCommand} from '../../../lib/cli/base-command.js'

export default class BlockTypeInspect extends BaseCommand {
  static args = {slug: Args.string({description: 'The block type slug, e.g. snowflake-credentials.', required: true})}
  static description = 'Show a block type: its fields, secret fields, version, checksum and schema history.'
  static examples = ['<%= config.bin %> <%= command.id %> snowflake-credentials', '<%= config.bin %> <%= command.id %> aws-secret --json']
static flags = {...blockCommandFlags}

  async run(): Promise<TypeDetails> {
    const {args, flags} = await this.parse(BlockTypeInspect)
    const details = await inspectBlockType(openBlocksFor(flags), args.slug)
    this.writeData(renderTypeDetails(details))
    return details
  }
}
