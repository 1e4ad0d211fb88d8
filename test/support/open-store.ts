import {openData, readDocument} from '../../src/lib/block/documents/records.js'
import {parseBlockAddress} from '../../src/lib/block/names.js'
import {createInvocation} from '../../src/lib/invocation.js'
import {Harness} from './block-harness.js'

/** Every document, opened in this process with a fresh keyring: address → its data. */
export async function openAll(h: Harness): Promise<Map<string, Record<string, unknown>>> {
  const context = await createInvocation({env: h.env() as NodeJS.ProcessEnv}).blocks()
  const opened = new Map<string, Record<string, unknown>>()
  for (const key of await context.store.list('documents/')) {
    const address = parseBlockAddress(key.slice('documents/'.length))
    // eslint-disable-next-line no-await-in-loop
    const document = await readDocument(context, address)
    opened.set(`${address.type}/${address.name}`, openData(context, document!))
  }

  return opened
}

