import {Args} from '@oclif/core'

import {clearCache, ClearResult} from '../../lib/cache/manage.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {resolverFlags} from '../../lib/cli/resolver-flags.js'

export default class CacheClear extends BaseCommand {
  static args = {name: Args.string({description: 'A secret to drop from the cache (name, AWS id or ARN); none: the whole cache.'})}
  static description = 'Remove cached secrets: the named ones (every version), or all of them.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> db-credentials prod/api-key']
  static flags = {...resolverFlags}
  static strict = false

  async run(): Promise<ClearResult> {
    const {argv, flags} = await this.parse(CacheClear)
    const result = clearCache(this.invocation(flags), argv as string[])
    this.writeData(`Removed ${result.removed} cache entr${result.removed === 1 ? 'y' : 'ies'}.\n`)
    return result
  }
}
