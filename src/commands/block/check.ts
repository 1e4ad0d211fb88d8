import {Interfaces} from '@oclif/core'

import {BlockCheckReport, checkBlocks} from '../../lib/block/documents/check.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {renderCheck} from '../../lib/cli/block-render.js'
import {resolverFlags, storeFlags} from '../../lib/cli/resolver-flags.js'

export default class BlockCheck extends BaseCommand {
  static description = `Load block documents as a flow would: nested documents, literal secrets decrypted, every reference resolved through the chain. Prints ok or the error for each, never a value.

The report goes to stdout (--json: {"ok", "checks": [...]}) whether or not a check failed; the exit code is that of the first document that failed (e.g. 3 for a reference found nowhere), 0 when all load.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> snowflake-connector/prod snowflake-credentials/prod --json']
  // Typed as a flag table: the generated resolver flags alone would not fit parse()'s inference.
  static flags: Interfaces.FlagInput = {...resolverFlags, ...storeFlags}
  static strict = false
  static usage = '<%= command.id %> [TYPE/NAME...]'

  async run(): Promise<BlockCheckReport> {
    const {argv, flags} = await this.parse(BlockCheck)
    const report = await checkBlocks(this.invocation(flags), argv as string[])
    this.writeData(renderCheck(report))
    if (report.exit !== undefined) process.exitCode = report.exit
    return report
  }
}
