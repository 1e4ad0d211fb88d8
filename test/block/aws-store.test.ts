import {expect} from 'chai'
import {describe, it} from 'mocha'

import {awsDeadline, connectSecretsManager} from '../../src/lib/aws/secrets-manager.js'
import {createBlock, deleteBlock, inspectBlock, listBlocks, restoreBlock, updateBlock} from '../../src/lib/block/documents/operations.js'
import {AwsStore, versionToken} from '../../src/lib/block/store/aws.js'
import {KeyflowError} from '../../src/lib/errors.js'
import {createInvocation} from '../../src/lib/invocation.js'
import {rejected, wideType} from '../support/block-fixtures.js'
import {ACCESS_DENIED, INTERNAL_ERROR, THROTTLING} from '../support/fault-proxy.js'
import {MOTO_REGION, motoClient} from '../support/moto.js'
import {faultProxyPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

/**
 * The aws block store in process, against moto's server and the real SDK: the
 * compare-and-swap through ClientRequestToken, deletion with a tombstone and a recovery
 * window, restore, batched reads, and faults through the fault proxy.
 */
describe('aws block store (in process, moto)', () => {
  const moto = motoPerFile()
  const proxy = faultProxyPerFile(moto)
  const dir = tempDirPerTest()

  const store = (endpoint = moto.url, {maxAttempts = 1, prefix = 'kf/', requestTimeoutMs = 5000} = {}) =>
    new AwsStore({
      attempts: maxAttempts,
      connect: () =>
        connectSecretsManager({
          connectTimeoutMs: 2000,
          credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
          deadline: awsDeadline(60_000),
          endpoint,
          maxAttempts,
          region: MOTO_REGION,
          requestTimeoutMs,
          retryMode: 'standard',
        }),
      prefix,
      region: MOTO_REGION,
      tags: {team: 'data'},
    })
  const blocksOn = async (s = store()) => createInvocation({env: {KEYFLOW_HOME: dir.path}, store: s}).blocks()

  it('keeps the record as the local store does, named and tagged by the layout', async () => {
    const ctx = await blocksOn()
    await ctx.registry.register([wideType], 'test')
    await createBlock(ctx, 'wide', 'one', {field: ['f0=a'], input: false})
    const sm = await motoClient(moto)
    const value = await sm.client.send(new sm.sdk.GetSecretValueCommand({SecretId: 'kf/blocks/wide/one'}))
    const record = JSON.parse(value.SecretString!)
    expect(record).to.include({kind: 'keyflow/block-document', name: 'one', revision: 1, type: 'wide'})
    expect(record.data).to.deep.equal({f0: 'a'})
    expect(value.VersionId).to.equal(versionToken('kf/blocks/wide/one', 1))
    const described = await sm.client.send(new sm.sdk.DescribeSecretCommand({SecretId: 'kf/blocks/wide/one'}))
    expect(Object.fromEntries(described.Tags!.map((tag) => [tag.Key, tag.Value]))).to.deep.equal({'keyflow:kind': 'block-document', 'keyflow:type': 'wide', team: 'data'})
    expect(JSON.parse(described.Description!)).to.include({keyflow: 1, revision: 1})
    const type = await sm.client.send(new sm.sdk.DescribeSecretCommand({SecretId: 'kf/block-types/wide'}))
    expect(type.Tags!.find((tag) => tag.Key === 'keyflow:kind')?.Value).to.equal('block-type')
  })

  it('a second, different write of the same revision is refused by Secrets Manager: CONFLICT', async () => {
    const [a, b] = [store(), store()]
    await a.put('documents/secret/x', {kind: 'k', v: 1}, null)
    const [readA, readB] = [await a.get('documents/secret/x'), await b.get('documents/secret/x')]
    expect(await a.put('documents/secret/x', {kind: 'k', v: 2}, readA!.revision)).to.equal(2)
    const error = await rejected(b.put('documents/secret/x', {kind: 'k', v: 3}, readB!.revision))
    expect(error.code).to.equal('CONFLICT')
    expect(error.exit).to.equal(7)
    expect((await a.get('documents/secret/x'))!.value.v).to.equal(2)
  })

  it('20 concurrent updates of different fields of one document all land', async () => {
    const setup = await blocksOn()
    await setup.registry.register([wideType], 'test')
    await createBlock(setup, 'wide', 'shared', {field: ['f0=start'], input: false})
    // Each writer has its own store and context, as separate processes would.
    const results = await Promise.all(Array.from({length: 20}, async (_, index) => updateBlock(await blocksOn(), 'wide/shared', {field: [`f${index}=v${index}`]})))
    expect(results.map((result) => result.status)).to.deep.equal(Array.from({length: 20}, () => 'updated'))
    const final = await inspectBlock(await blocksOn(), 'wide/shared')
    expect(final.data).to.deep.equal(Object.fromEntries(Array.from({length: 20}, (_, index) => [`f${index}`, `v${index}`])))
    expect(final.revision).to.equal(21)
  })

  it('20 racing creates of one name: exactly one succeeds, 19 get ALREADY_EXISTS', async () => {
    const setup = await blocksOn()
    await setup.registry.register([wideType], 'test')
    const settled = await Promise.allSettled(Array.from({length: 20}, async (_, index) => createBlock(await blocksOn(), 'wide', 'race', {field: [`f0=w${index}`], input: false})))
    const winners = settled.filter((result) => result.status === 'fulfilled')
    const losers = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as KeyflowError] : []))
    expect(winners).to.have.length(1)
    expect(losers.map((error) => [error.code, error.exit])).to.deep.equal(Array.from({length: 19}, () => ['ALREADY_EXISTS', 7]))
    const winner = (winners[0] as PromiseFulfilledResult<{revision: number}>).value
    expect(winner.revision).to.equal(1)
  })

  it('ls answers from ListSecrets alone: no value is read', async () => {
    const ctx = await blocksOn(store(proxy.url))
    await createBlock(ctx, 'snowflake-credentials', 'prod', {field: ['account=a', 'user=u', 'password=env://PW'], input: false})
    await createBlock(ctx, 'snowflake-connector', 'prod', {field: ['credentials=prod', 'database=D', 'schema=S', 'warehouse=W'], input: false})
    proxy.reset()
    const listed = await listBlocks(await blocksOn(store(proxy.url)))
    expect(listed.store).to.equal('aws')
    expect(listed.blocks.map((block) => [block.address, block.references])).to.deep.equal([
      ['snowflake-connector/prod', ['snowflake-credentials/prod']],
      ['snowflake-credentials/prod', []],
    ])
    expect(proxy.counts).to.deep.equal({ListSecrets: 1})
  })

  it('delete schedules the deletion behind a tombstone; restore brings the document back', async () => {
    const ctx = await blocksOn()
    await ctx.registry.register([wideType], 'test')
    await createBlock(ctx, 'wide', 'gone', {field: ['f0=keep-me'], input: false})
    const stale = store()
    const staleRead = await stale.get('documents/wide/gone')
    const deleted = await deleteBlock(ctx, 'wide/gone', {yes: true})
    expect(deleted.deletionDate).to.be.a('string')
    expect((await listBlocks(await blocksOn())).blocks).to.deep.equal([])
    // A writer that read the document before the delete cannot bring it back.
    expect((await rejected(stale.put('documents/wide/gone', {...staleRead!.value}, staleRead!.revision))).exit).to.equal(7)
    const again = await rejected(createBlock(await blocksOn(), 'wide', 'gone', {field: ['f0=new'], input: false}))
    expect(again.code).to.equal('SCHEDULED_FOR_DELETION')
    const restored = await restoreBlock(await blocksOn(), 'wide/gone')
    expect(restored.revision).to.equal(3)
    expect((await inspectBlock(await blocksOn(), 'wide/gone')).data).to.deep.equal({f0: 'keep-me'})
    await deleteBlock(await blocksOn(), 'wide/gone', {forceDeleteNow: true, yes: true})
    expect((await createBlock(await blocksOn(), 'wide', 'gone', {field: ['f0=fresh'], input: false})).revision).to.equal(1)
  })

  it('a document referenced by another is not deleted; a reference to a deleted document is not saved', async () => {
    const ctx = await blocksOn()
    await createBlock(ctx, 'snowflake-credentials', 'c', {field: ['account=a', 'user=u', 'password=env://PW'], input: false})
    await createBlock(ctx, 'snowflake-connector', 'k', {field: ['credentials=c', 'database=D', 'schema=S', 'warehouse=W'], input: false})
    const refused = await rejected(deleteBlock(await blocksOn(), 'snowflake-credentials/c', {yes: true}))
    expect([refused.code, refused.exit]).to.deep.equal(['BLOCK_REFERENCED', 7])
    expect(((await store().get('documents/snowflake-credentials/c'))!.value.referrers as string[])).to.deep.equal(['snowflake-connector/k'])
  })

  it('racing a delete of a document against creates that reference it never leaves a dangling reference', async () => {
    for (let round = 0; round < 5; round++) {
      // eslint-disable-next-line no-await-in-loop
      await moto.reset()
      // eslint-disable-next-line no-await-in-loop
      await createBlock(await blocksOn(), 'snowflake-credentials', 'c', {field: ['account=a', 'user=u', 'password=env://PW'], input: false})
      // eslint-disable-next-line no-await-in-loop
      const outcomes = await Promise.allSettled([
        // eslint-disable-next-line no-await-in-loop
        deleteBlock(await blocksOn(), 'snowflake-credentials/c', {forceDeleteNow: true, yes: true}),
        ...Array.from({length: 4}, async (_, index) =>
          createBlock(await blocksOn(), 'snowflake-connector', `k${index}`, {field: ['credentials=c', 'database=D', 'schema=S', 'warehouse=W'], input: false}),
        ),
      ])
      // eslint-disable-next-line no-await-in-loop
      const {blocks} = await listBlocks(await blocksOn())
      const present = new Set(blocks.map((block) => block.address))
      for (const block of blocks) for (const reference of block.references) expect(present, `${block.address} -> ${reference}`).to.include(reference)
      expect(outcomes[0].status === 'fulfilled').to.equal(!present.has('snowflake-credentials/c'))
    }
  })

  it('reads a connector and its credentials, and many documents, in batches', async () => {
    const ctx = await blocksOn()
    for (let index = 0; index < 45; index++) {
      // eslint-disable-next-line no-await-in-loop
      await ctx.store.put(`documents/secret/s${index}`, {v: index}, null)
    }

    proxy.reset()
    const reader = store(proxy.url)
    const results = await reader.getMany([...Array.from({length: 45}, (_, index) => `documents/secret/s${index}`), 'documents/secret/none'])
    expect(results.map((result) => result.record?.value.v)).to.deep.equal([...Array.from({length: 45}, (_, index) => index), undefined])
    expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 3})
  })

  describe('faults', () => {
    it('throttling past the retries: exit 4 naming the call and the secret, nothing written', async () => {
      const ctx = await blocksOn(store(proxy.url, {maxAttempts: 2}))
      await ctx.registry.register([wideType], 'test')
      await createBlock(ctx, 'wide', 't', {field: ['f0=a'], input: false})
      proxy.reset([{fault: THROTTLING, operation: 'UpdateSecret'}])
      const error = await rejected(updateBlock(ctx, 'wide/t', {field: ['f0=b']}))
      expect([error.code, error.exit]).to.deep.equal(['AWS_THROTTLED', 4])
      expect(error.where).to.include('kf/blocks/wide/t')
      expect(error.details[0]).to.match(/^UpdateSecret: /)
      expect(proxy.counts.UpdateSecret).to.equal(2)
      proxy.reset()
      expect((await inspectBlock(await blocksOn(), 'wide/t')).data).to.deep.equal({f0: 'a'})
    })

    it('AccessDenied on CreateSecret: a clear "not allowed" exit 4, not "not found"', async () => {
      proxy.reset([{fault: ACCESS_DENIED, operation: 'CreateSecret'}])
      const error = await rejected(createBlock(await blocksOn(store(proxy.url)), 'secret', 'no', {field: ['value=env://X'], input: false}))
      expect([error.code, error.exit]).to.deep.equal(['AWS_DENIED', 4])
      expect(error.message).to.equal('AWS denied access.')
      expect(error.fix).to.include('keyflow needs secretsmanager:CreateSecret on this secret')
      expect(error.details[0]).to.match(/^CreateSecret: AccessDeniedException/)
    })

    it('a stalled call gives up after the request timeout: exit 4', async () => {
      proxy.reset([{fault: {kind: 'stall'}, operation: 'GetSecretValue'}])
      const error = await rejected(inspectBlock(await blocksOn(store(proxy.url, {requestTimeoutMs: 300})), 'secret/x'))
      expect([error.code, error.exit]).to.deep.equal(['AWS_UNREACHABLE', 4])
      expect(error.details[0]).to.match(/^GetSecretValue: /)
    })

    it('a create whose reference cannot be recorded is undone: no document that looks valid is left', async () => {
      const ctx = await blocksOn(store(proxy.url))
      await createBlock(ctx, 'snowflake-credentials', 'c', {field: ['account=a', 'user=u', 'password=env://PW'], input: false})
      proxy.reset([{fault: INTERNAL_ERROR, match: 'snowflake-credentials/c', operation: 'UpdateSecret'}])
      const error = await rejected(createBlock(ctx, 'snowflake-connector', 'k', {field: ['credentials=c', 'database=D', 'schema=S', 'warehouse=W'], input: false}))
      expect(error.exit).to.equal(4)
      proxy.reset()
      expect((await listBlocks(await blocksOn())).blocks.map((block) => block.address)).to.deep.equal(['snowflake-credentials/c'])
    })
  })
})
