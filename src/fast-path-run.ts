import {fastPath} from './fast-path.js'

/** The bundle bin/run.js offers `keyflow run ...`. */
export const runFastPath = fastPath({
  async run(invocation, argv, flags) {
    const {runWithSecrets} = await import('./lib/run/run.js')
    // keyflow's exit code is the command's, as in the oclif command.
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    process.exit(await runWithSecrets(invocation, argv, flags))
  },
})
