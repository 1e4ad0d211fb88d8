import {blockReferences} from '../documents/fields.js'
import {parseBlockAddress} from '../names.js'
import {BlockStore, ReadResult} from './store.js'

/**
 * The records a load will read, fetched before it reads them: the documents asked for in one
 * batch, then every document those reference in the next, and so on. Loading a connector and
 * the credentials it references costs two round trips on the aws store, and `run --block a
 * --block b --block c` costs no more than the deepest of them.
 *
 * Returns a view of `store` that answers get() from what was fetched; every other call goes
 * to the store itself.
 */
export async function prefetchDocuments(store: BlockStore, keys: string[]): Promise<BlockStore> {
  const fetched = new Map<string, ReadResult>()
  let level = [...new Set(keys)]
  while (level.length > 0) {
    let results: ReadResult[]
    try {
      // eslint-disable-next-line no-await-in-loop
      results = await store.getMany(level)
    } catch {
      break // each load then reads on its own and reports the failure as its own
    }

    for (const result of results) fetched.set(result.key, result)
    const next = new Set<string>()
    for (const {record} of results) {
      for (const reference of record ? blockReferences(record.value.data) : []) {
        let key
        try {
          const address = parseBlockAddress(reference)
          key = `documents/${address.type}/${address.name}`
        } catch {
          continue // validation reports a malformed reference when the document loads
        }

        if (!fetched.has(key)) next.add(key)
      }
    }

    level = [...next]
  }

  const view = Object.create(store) as BlockStore
  view.get = async (key) => {
    const result = fetched.get(key)
    if (!result) return store.get(key)
    if (result.error) throw result.error
    return result.record
  }

  return view
}
