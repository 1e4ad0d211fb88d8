import {Hook} from '@oclif/core'

import {unknownCommandError, vocabularyOf, wantsJson} from '../lib/cli/unknown-command.js'
import {reportError} from '../lib/output/render-error.js'

/** An unknown command: keyflow's error, with the nearest command, never the words typed after it. */
const hook: Hook.CommandNotFound = async function ({argv = [], config, id}) {
  reportError(unknownCommandError(config.bin, vocabularyOf(config), id), wantsJson([...id.split(':'), ...argv]))
}

export default hook
