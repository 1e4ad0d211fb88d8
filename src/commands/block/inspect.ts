import {Args, Flags} from '@oclif/core'

import {inspectBlock, InspectedBlock} from '../../lib/block/documents/operations.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {renderInspect} from '../../lib/cli/block-render.js'

export default class BlockInspect extends BaseCommand {
  static args = {block: Args.string({description: 'The document, as TYPE/NAME.', required: true})}
  static description = `Show a block document. Secret fields are masked as ********; a reference is shown as the reference (resolved only when the block loads: \`keyflow block check\` resolves them now), a nested document as its address. --json shows them as stored: {"$ref": ...}, {"$block": ...}.`
  static examples = [
    '<%= config.bin %> <%= command.id %> snowflake-credentials/prod',
    {command: '<%= config.bin %> <%= command.id %> secret/api-token --reveal --json', description: 'Show the decrypted secret values (warns on stderr)'},
  ]
  static flags = {reveal: Flags.boolean({description: 'Show literal secret values, decrypted. References are not resolved.'})}

  async run(): Promise<InspectedBlock> {
    const {args, flags} = await this.parse(BlockInspect)
    const block = await inspectBlock(await this.invocation().blocks(), args.block, {reveal: flags.reveal})
    this.writeData(renderInspect(block))
    return block
  }
}
