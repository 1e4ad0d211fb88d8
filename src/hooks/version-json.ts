import {Hook} from '@oclif/core'

import {versionAnswer} from '../lib/cli/version.js'

/**
 * `keyflow --version`, as text or JSON, on the oclif path (src/lib/cli/version.ts): answered in
 * the init hook, which runs just before oclif would print its own text version; oclif takes
 * --version only as the first word, and `--json` may stand before it too (`keyflow --json
 * --version`), which oclif would otherwise read as an unknown command.
 */
const hook: Hook.Init = async function ({argv, config, id}) {
  const answer = versionAnswer(id === undefined ? argv : [id, ...argv], config.pjson)
  if (answer === undefined) return
  process.stdout.write(answer)
  // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit -- oclif would print its text version next
  process.exit(0)
}

export default hook
