import {Args} from '@oclif/core'

import {inspectBlockType, TypeDetails} from '../../../lib/block/types/register.js'
import {BaseCommand} from '../../../lib/cli/base-command.js'
import {renderTypeDetails} from '../../../lib/cli/block-render.js'

export default class BlockTypeInspect extends BaseCommand {
  static args = {slug: Args.string({description: 'The block type slug, e.g. snowflake-credentials.', required: true})}
  static description = 'Show a block type: its fields, secret fields, version, checksum and schema history.'
  static examples = ['<%= config.bin %> <%= command.id %> snowflake-credentials', '<%= config.bin %> <%= command.id %> aws-secret --json']

  async run(): Promise<TypeDetails> {
    const {args} = await this.parse(BlockTypeInspect)
    const details = await inspectBlockType(await this.invocation().blocks(), args.slug)
    this.writeData(renderTypeDetails(details))
    return details
  }
}
