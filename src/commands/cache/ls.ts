import {CacheListing, listCache, renderListing} from '../../lib/cache/manage.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {resolverFlags} from '../../lib/cli/resolver-flags.js'

export default class CacheLs extends BaseCommand {
  static description = `List the cached secrets: name, version, region, age and state under the current cache.ttl and cache.maxStale. Never values.

States: fresh (served without asking AWS), stale (asked again; served only if AWS fails transiently or offline), expired (older than cache.maxStale: never served), future (written at a later time than the clock now says: asked again). See docs/cache.md.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static flags = {...resolverFlags}

  async run(): Promise<CacheListing> {
    const {flags} = await this.parse(CacheLs)
    const listing = listCache(this.invocation(flags))
    this.writeData(renderListing(listing))
    return listing
  }
}
