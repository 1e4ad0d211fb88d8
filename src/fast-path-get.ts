import {fastPath} from './fast-path.js'

/**
 * The bundle bin/run.js offers every invocation but `run`'s: `secret get` and `--version`, and
 * the completion scripts' question (`keyflow __complete WORDS`), whose modules (the Invocation,
 * the block store) are this bundle's already, so one file less to ship.
 */
export const runFastPath = fastPath({
  async 'secret:get'(invocation, argv, flags) {
    const {secretGet} = await import('./lib/secret/get.js')
    return secretGet(invocation, argv, flags)
  },
})

export async function runCompletion(words: string[]): Promise<void> {
  const {runCompletion: complete} = await import('./lib/completion/entry.js')
  await complete(words)
}
