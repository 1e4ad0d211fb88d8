import {complete, CompletionData, readManifest, renderCandidates} from './complete.js'

/** The store's names for completion; a store that cannot be read completes nothing. */
async function blocks() {
  const {createInvocation} = await import('../invocation.js')
  return createInvocation().blocks()
}

const storeData: CompletionData = {
  async blockAddresses() {
    const keys = await (await blocks()).store.list('documents/')
    return keys.map((key) => key.split('/').slice(1).join('/'))
  },
  async blockTypes() {
    return (await (await blocks()).registry.all()).map((type) => type.slug)
  },
}

/**
 * `keyflow __complete WORDS...`, which the completion scripts run on every TAB: prints the
 * candidates and never an error (a completion that fails offers nothing).
 */
export async function runCompletion(words: string[]): Promise<void> {
  try {
    process.stdout.write(renderCandidates(await complete(readManifest(), storeData, words.length > 0 ? words : [''])))
  } catch {
    // Nothing to offer.
  }
}
