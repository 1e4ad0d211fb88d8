import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'

import {createBlock, deleteBlock, listBlocks} from '../../../src/lib/block/documents/operations.js'
import {createInvocation} from '../../../src/lib/invocation.js'
import {tempDir} from '../../support/cli.js'

/**
 * The local store's side of docs/blocks.md "References and concurrent deletes" (the aws
 * store's is in aws-store.test.ts): a delete racing writes that reference the document never
 * leaves a document pointing at one that is gone. Each writer has its own context, as separate
 * processes would; they share the store directory and its lock.
 */
describe('local store: a delete racing creates that reference it', () => {
  let dir: ReturnType<typeof tempDir>
  const blocks = async () => createInvocation({env: {KEYFLOW_HOME: dir.path}, store: 'local'}).blocks()

  beforeEach(() => {
    dir = tempDir()
  })

  afterEach(() => dir.cleanup())

  it('leaves no dangling reference in any round, and the delete succeeds exactly when no referrer survives', async () => {
    for (let round = 0; round < 10; round++) {
      // eslint-disable-next-line no-await-in-loop
      await createBlock(await blocks(), 'snowflake-credentials', `c${round}`, {field: ['account=a', 'user=u', 'password=env://PW'], input: false})
      // eslint-disable-next-line no-await-in-loop
      const [deleted, ...created] = await Promise.allSettled([
        // eslint-disable-next-line no-await-in-loop
        deleteBlock(await blocks(), `snowflake-credentials/c${round}`, {yes: true}),
        ...Array.from({length: 4}, async (_, index) =>
          createBlock(await blocks(), 'snowflake-connector', `k${round}-${index}`, {field: [`credentials=c${round}`, 'database=D', 'schema=S', 'warehouse=W'], input: false}),
        ),
      ])
      // eslint-disable-next-line no-await-in-loop
      const present = new Set((await listBlocks(await blocks())).blocks.map((block) => block.address))
      // eslint-disable-next-line no-await-in-loop
      for (const block of (await listBlocks(await blocks())).blocks) for (const reference of block.references) expect(present, `${block.address} -> ${reference}`).to.include(reference)
      expect(deleted.status === 'fulfilled', `round ${round}`).to.equal(!present.has(`snowflake-credentials/c${round}`))
      expect(deleted.status === 'fulfilled' && created.some((result) => result.status === 'fulfilled')).to.equal(false)
    }
  })
})
