import {Args, Flags} from '@oclif/core'

import {copyBlocks, CopyResult} from '../../lib/block/copy.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {blockCommandFlags} from '../../lib/cli/block-flags.js'
import {renderCopy} from '../../lib/cli/block-render.js'

export default class BlockCopy extends BaseCommand {
  // Positional: the key order is the argument order.
   
  static args = {
    from: Args.string({description: 'The store to copy from.', options: ['local', 'aws'], required: true}),
    to: Args.string({description: 'The store to copy to.', options: ['local', 'aws'], required: true}),
    what: Args.string({description: 'TYPE/NAME (one document), TYPE (all of that type), or nothing (every document).'}),
  }
static description = `Copy block documents, the documents they reference and the registered types they need, from one store to the other.

Secret values go from memory to memory, never through argv, a file or the terminal. A document the destination already holds with the same type and data is left alone, so running it again changes nothing. --dry-run lists what would change.`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> local aws', description: 'Move a machine\'s documents into the team store'},
    {command: '<%= config.bin %> <%= command.id %> local aws snowflake-connector/prod --dry-run', description: 'What copying one connector (and its credentials) would do'},
    {command: '<%= config.bin %> <%= command.id %> aws local snowflake-credentials', description: 'Every snowflake-credentials document, back to this machine'},
  ]
  static flags = {
    ...blockCommandFlags,
    'dry-run': Flags.boolean({description: 'List what would be created or updated; write nothing.'}),
  }

  async run(): Promise<CopyResult> {
    const {args, flags} = await this.parse(BlockCopy)
    const invocation = this.invocation(flags)
    const [from, to] = await Promise.all([invocation.blocks(args.from as 'aws' | 'local'), invocation.blocks(args.to as 'aws' | 'local')])
    const result = await copyBlocks(from, to, {dryRun: flags['dry-run'], what: args.what})
    this.writeData(renderCopy(result))
    return result
  }
}
