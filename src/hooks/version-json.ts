import {Hook} from '@oclif/core'

import {wantsJson} from '../lib/cli/unknown-command.js'

/**
 * `keyflow --version --json`: oclif prints its user agent for --version before any command
 * runs, so the JSON form is answered here, in the init hook that runs just before. oclif takes
 * --version only as the first word; `--json` may stand before it too (`keyflow --json
 * --version`), which oclif would otherwise read as an unknown command.
 */
const hook: Hook.Init = async function ({argv, config, id}) {
  const words = id === undefined ? argv : [id, ...argv]
  if (words.find((word) => word !== '--json') !== '--version' || !wantsJson(words)) return
  const version = {arch: config.arch, name: config.name, node: process.version, platform: config.platform, version: config.version}
  process.stdout.write(JSON.stringify(version, null, 2) + '\n')
  // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit -- oclif would print its text version next
  process.exit(0)
}

export default hook
