import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'

import {harness, Harness} from '../support/block-harness.js'
import {canary} from '../support/canary.js'
import {CliResult} from '../support/cli.js'
import {faultProxyPerFile, motoPerFile} from '../support/suite-fixtures.js'

/**
 * Writes to the aws block store are bounded by --aws-total-timeout over their whole sequence
 * of calls (CreateSecret, then UpdateSecret to record a reference, DeleteSecret to undo), as
 * reads are: a stalling endpoint makes the command fail with exit 4 naming the call, and what
 * is left in the store is nothing, or exactly what the error reports. Built CLI, moto behind
 * the fault proxy. The request timeout is set far above the total one, so it is the total
 * deadline that ends each case.
 */

const errorOf = (result: CliResult) => {
  expect(result.stderr).to.not.match(/\n\s+at /)
  return JSON.parse(result.stderr).error as {code: string; details?: string[]; exit: number; fix?: string; message: string; where?: string}
}

describe('aws block store writes within --aws-total-timeout (built CLI, moto, fault proxy)', () => {
  const moto = motoPerFile()
  const proxy = faultProxyPerFile(moto)
  let h: Harness
  const BOUNDED = ['--store', 'aws', '--aws-total-timeout', '1500', '--aws-request-timeout', '60000', '--json']
  const kf = (args: string[], options: {input?: string} = {}) => h.kf(args, {...options, env: proxy.env})

  beforeEach(() => {
    h = harness()
  })

  afterEach(() => h.cleanup())

  it('block create: a stalled CreateSecret fails with exit 4 naming the call and the deadline; nothing is written', async () => {
    const value = canary('stalled')
    h.canaries.push(value)
    proxy.reset([{fault: {kind: 'stall'}, operation: 'CreateSecret'}])
    const created = await kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value', ...BOUNDED], {input: value})
    const error = errorOf(created)
    expect([created.code, error.exit]).to.deep.equal([4, 4])
    expect(error.details?.[0]).to.match(/^CreateSecret: /)
    expect(`${error.message} ${error.details?.join(' ')} ${error.fix}`).to.include('--aws-total-timeout')
    expect(error.where).to.equal('AWS Secrets Manager (us-east-1), secret "keyflow/blocks/secret/api-token"')
    proxy.reset()
    const inspected = await kf(['block', 'inspect', 'secret/api-token', '--store', 'aws', '--json'])
    expect(inspected.code).to.equal(3)
  })

  it('block create: the document was written but recording its reference stalls: the error says exactly what exists', async () => {
    expect((await kf(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=a', '--field', 'user=u', '--field', 'password=env://PW', '--store', 'aws'])).code).to.equal(0)
    // UpdateSecret of the credentials (the referrer pin) and every call after it stall: the undo cannot run either.
    proxy.reset([{fault: {kind: 'stall'}, operation: 'UpdateSecret'}, {fault: {kind: 'stall'}, operation: 'DeleteSecret'}])
    const created = await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W', ...BOUNDED])
    const error = errorOf(created)
    expect([created.code, error.code]).to.deep.equal([4, 'PARTIAL_WRITE'])
    expect(error.message).to.equal('snowflake-connector/prod was saved (revision 1), but its reference to snowflake-credentials/prod could not be recorded (AWS Secrets Manager did not finish within the total timeout), and undoing the write failed too.')
    // Each step names its call and the deadline.
    expect(error.details).to.deep.equal([
      'reference: AWS Secrets Manager did not finish within the total timeout.',
      '  UpdateSecret: all AWS calls must finish within 1500 ms (--aws-total-timeout)',
      // The deadline has passed: the undo's first call (reading the revision to delete) is refused at once.
      'undo: AWS Secrets Manager did not finish within the total timeout.',
      '  GetSecretValue: all AWS calls must finish within 1500 ms (--aws-total-timeout)',
    ])
    proxy.reset()
    // What the error reported is what exists.
    const listed = JSON.parse((await kf(['block', 'ls', '--store', 'aws', '--json'])).stdout)
    expect(listed.blocks.map((block: {address: string}) => block.address)).to.deep.equal(['snowflake-connector/prod', 'snowflake-credentials/prod'])
  })

  it('block update: a stall fails within the deadline, exit 4, the document unchanged', async () => {
    expect((await kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value', '--store', 'aws'], {input: canary('v')})).code).to.equal(0)
    proxy.reset([{fault: {kind: 'stall'}, operation: 'UpdateSecret'}])
    const updated = await kf(['block', 'update', 'secret/api-token', '--stdin-field', 'value', ...BOUNDED], {input: canary('w')})
    expect([updated.code, errorOf(updated).code, errorOf(updated).details]).to.deep.equal([4, 'AWS_DEADLINE', ['UpdateSecret: all AWS calls must finish within 1500 ms (--aws-total-timeout)']])
    proxy.reset()
    expect(JSON.parse((await kf(['block', 'inspect', 'secret/api-token', '--store', 'aws', '--json'])).stdout).revision).to.equal(1)
  })

  it('block delete: the tombstone written, DeleteSecret stalled: exit 4 saying exactly what is left and how to finish', async () => {
    expect((await kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value', '--store', 'aws'], {input: canary('v')})).code).to.equal(0)
    proxy.reset([{fault: {kind: 'stall'}, operation: 'DeleteSecret'}])
    const deleted = await kf(['block', 'delete', 'secret/api-token', '--yes', ...BOUNDED])
    const error = errorOf(deleted)
    expect([deleted.code, error.code]).to.deep.equal([4, 'PARTIAL_DELETE'])
    expect(error.message).to.equal('secret/api-token was marked deleted (a tombstone, revision 2: it no longer loads or lists), but its secret could not be deleted: AWS Secrets Manager did not finish within the total timeout.')
    expect(error.details).to.deep.equal([
      'DeleteSecret: all AWS calls must finish within 1500 ms (--aws-total-timeout)',
      'the secret keyflow/blocks/secret/api-token remains, not scheduled for deletion; its previous version (AWSPREVIOUS) still holds the document',
    ])
    expect(error.fix).to.include('aws secretsmanager delete-secret --secret-id keyflow/blocks/secret/api-token')
    proxy.reset()
    // As reported: gone for keyflow, and the name can be saved again.
    expect((await kf(['block', 'inspect', 'secret/api-token', '--store', 'aws'])).code).to.equal(3)
    expect((await kf(['block', 'create', 'secret', 'api-token', '--stdin-field', 'value', '--store', 'aws'], {input: canary('again')})).code).to.equal(0)
  })
})
