import {Args, Flags} from '@oclif/core'

import {openBlocksFor} from '../../lib/block/context.js'
import {blockCommandFlags} from '../../lib/block/flags.js'
import {renderInspect} from '../../lib/block/render.js'
import {inspectBlock, InspectedBlock} from '../../lib/block/service.js'
import {BaseCommand} from '../../lib/cli/base-command.js'

export default class BlockInspect extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Show a block document. Secret fields are masked as ********; references are shown as {"$ref": ...}, nested documents as {"$block": ...}.`
  static examples = [
    '<%= config.bin %> <%= command.id %> snowflake-credentials/prod',
    {command: '<%= config.bin %> <%= command.id %> secret/api-token --reveal --json', description: 'Show the decrypted secret values (warns on stderr)'},
  ]
  static flags = {...blockCommandFlags, reveal: Flags.boolean({description: 'Show literal secret values, decrypted. References are not resolved.'})}

  async run(): Promise<InspectedBlock> {
    const {args, flags} = await this.parse(BlockInspect)
    const block = await inspectBlock(openBlocksFor(flags), args.block, {reveal: flags.reveal})
    this.writeData(renderInspect(block))
    return block
  }
}
