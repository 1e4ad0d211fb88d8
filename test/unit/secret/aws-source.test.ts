/* eslint-disable camelcase -- aws-secret blocks use prefect-aws field names */
import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'

import type {AwsConnection, SecretPayload, SecretsManagerApi} from '../../../src/lib/aws/secrets-manager.js'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {createInvocation} from '../../../src/lib/invocation.js'
import {readAwsSecret, resolveSecrets} from '../../../src/lib/library.js'
import {sourceDeclaration} from '../../../src/lib/run/project.js'
import {resolveReferences} from '../../../src/lib/secret/chain.js'
import {BUILTIN_SOURCES} from '../../../src/lib/secret/sources/index.js'
import {assertNoCanary, canary} from '../../support/canary.js'
import {tempDir} from '../../support/cli.js'

const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`
const awsError = (name: string) => Object.assign(new Error(name), {$fault: 'client', name})

/** An in-memory Secrets Manager: what the AWS source asks it, and with which connection. */
function fakeSecretsManager(secrets: Record<string, string>, options: {batchDenied?: boolean} = {}) {
  const calls: string[] = []
  /** The same calls, each with the region and role of the client that made it. */
  const placedCalls: string[] = []
  const connections: AwsConnection[] = []
  const payload = (id: string): SecretPayload => ({arn: arn(id), name: id, value: secrets[id], versionId: 'v1', versionStages: ['AWSCURRENT']})
  const connect = async (connection: AwsConnection): Promise<SecretsManagerApi> => {
    connections.push(connection)
    const placed = (call: string) => placedCalls.push(`${connection.region} ${connection.role?.arn ?? 'no-role'} ${call}`)
    const api: Partial<SecretsManagerApi> = {
      async batchGet(ids) {
        calls.push(`batch ${ids.join(',')}`)
        placed(`batch ${ids.join(',')}`)
        if (options.batchDenied) throw awsError('AccessDeniedException')
        return {
          errors: ids.filter((id) => !(id in secrets)).map((id) => ({error: {message: 'not found', name: 'ResourceNotFoundException'}, secretId: id})),
          values: ids.filter((id) => id in secrets).map((id) => payload(id)),
        }
      },
      // Configured: a region and credentials are there.
      async checkConfigured() {
        return undefined as string | undefined
      },
      async get({secretId}) {
        calls.push(`get ${secretId}`)
        placed(`get ${secretId}`)
        if (!(secretId in secrets)) throw awsError('ResourceNotFoundException')
        return payload(secretId)
      },
      region: connection.region,
      async versionStages(names) {
        calls.push(`stages ${names.join(',')}`)
        return new Map(names.filter((name) => name in secrets).map((name) => [name, {v1: ['AWSCURRENT']}]))
      },
      // The source only reads; a write method called here would throw and fail the test.
    }
    return api as SecretsManagerApi
  }

  return {calls, connect, connections, placedCalls}
}

describe('the AWS source and readAwsSecret in process (injected Secrets Manager client)', () => {
  let dir: ReturnType<typeof tempDir>
  const value = canary('aws-inproc')
  const invocation = (connect: ReturnType<typeof fakeSecretsManager>['connect'], env: NodeJS.ProcessEnv = {}) =>
    createInvocation({
      connectSecretsManager: connect,
      cwd: dir.path,
      env: {AWS_REGION: 'eu-west-1', KEYFLOW_AWS_MAX_ATTEMPTS: '2', KEYFLOW_HOME: dir.path, KEYFLOW_PROJECT_FILE: '', KEYFLOW_SOURCES: 'aws', ...env},
    })

  before(() => {
    dir = tempDir()
  })

  after(() => dir.cleanup())

  it('batches unpinned names, 20 ids a call (a lone id left over by GetSecretValue), and reports each missing one', async () => {
    const secrets = Object.fromEntries(Array.from({length: 21}, (_, i) => [`S${i}`, `${value}-${i}`]))
    const sm = fakeSecretsManager(secrets)
    const names = Object.keys(secrets)
    const found = await resolveSecrets(names, {invocation: invocation(sm.connect)})
    expect(found.map((secret) => secret.value)).to.deep.equal(names.map((name) => secrets[name]))
    expect(sm.calls.map((call) => call.split(' ')[0])).to.deep.equal(['batch', 'get'])
    expect(sm.calls[0].split(',').length).to.equal(20)
    expect(sm.connections[0]).to.include({maxAttempts: 2, region: 'eu-west-1'})
    const error = await resolveSecrets(['S1', 'NOPE'], {invocation: invocation(sm.connect)}).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(KeyflowError)
    expect((error as KeyflowError).message).to.equal('Secret "NOPE" was not found in any source.')
  })

  it('falls back to GetSecretValue, one id at a time, when batching is denied', async () => {
    const sm = fakeSecretsManager({A: value, B: value}, {batchDenied: true})
    const found = await resolveSecrets(['A', 'B'], {invocation: invocation(sm.connect)})
    expect(found.map((secret) => secret.provenance.source)).to.deep.equal(['aws', 'aws'])
    expect(sm.calls).to.deep.equal(['batch A,B', 'get A', 'get B'])
  })

  it('groups sources by (region, role): one client and one BatchGetSecretValue per group, an ARN in its own region', async () => {
    const roleA = 'arn:aws:iam::111122223333:role/reader-a'
    const roleB = 'arn:aws:iam::111122223333:role/reader-b'
    const names = ['A1', 'A2', 'B1', 'B2', 'C1', 'C2', 'D1', 'D2']
    const elsewhere = 'arn:aws:secretsmanager:ap-south-1:123456789012:secret:E1-AbCdEf'
    const sm = fakeSecretsManager({...Object.fromEntries(names.map((name) => [name, value])), [elsewhere]: value})
    const sources = [
      'A1', 'A2',
      {id: 'B1', options: {region: 'us-west-2'}}, {id: 'B2', options: {region: 'us-west-2'}},
      {id: 'C1', role: roleA}, {id: 'C2', role: roleA},
      {id: 'D1', options: {region: 'us-west-2'}, role: roleA}, {id: 'D2', options: {region: 'us-west-2'}, role: roleA},
      // Its region is the ARN's, whatever options.region says; its role is the configured default.
      {id: elsewhere, options: {region: 'us-west-2'}},
    ].map((item, index) => sourceDeclaration(item, `sources[${index}]`, BUILTIN_SOURCES).reference)
    const resolutions = await resolveReferences(sources, invocation(sm.connect, {KEYFLOW_AWS_ROLE: roleB}).chain)
    expect(resolutions.map((resolution) => resolution.ok)).to.deep.equal(sources.map(() => true))
    expect(sm.placedCalls.sort()).to.deep.equal([
      `ap-south-1 ${roleB} get ${elsewhere}`,
      `eu-west-1 ${roleA} batch C1,C2`,
      `eu-west-1 ${roleB} batch A1,A2`,
      `us-west-2 ${roleA} batch D1,D2`,
      `us-west-2 ${roleB} batch B1,B2`,
    ])
    // One client per group, all sharing the invocation's AssumeRole sessions.
    expect(sm.connections).to.have.length(5)
    expect(new Set(sm.connections.map((connection) => connection.roleSessions)).size).to.equal(1)
    expect(resolutions.map((resolution) => resolution.ok && resolution.provenance.role)).to.deep.equal([roleB, roleB, roleB, roleB, roleA, roleA, roleA, roleA, roleB])
  })

  it("readAwsSecret reads with the block's own credentials, region and endpoint, through the chain's AWS source", async () => {
    const sm = fakeSecretsManager({'my-pw': value})
    const block = {
      aws_credentials: {aws_access_key_id: 'AKIDBLOCK', aws_client_parameters: {endpoint_url: 'http://127.0.0.1:1'}, aws_secret_access_key: canary('key'), region_name: 'us-west-2'},
      secret_name: 'my-pw',
    }
    const read = await readAwsSecret(block, {}, {invocation: invocation(sm.connect, {KEYFLOW_AWS_PREFIX: 'ignored/'})})
    expect(read === value).to.equal(true)
    expect(sm.calls).to.deep.equal(['get my-pw'])
    expect(sm.connections[0]).to.deep.include({endpoint: 'http://127.0.0.1:1', maxAttempts: 2, region: 'us-west-2'})
    expect(sm.connections[0].credentials?.accessKeyId).to.equal('AKIDBLOCK')
  })

  it('readAwsSecret reports a missing secret as the chain does: not found, with how to create it, no value', async () => {
    const sm = fakeSecretsManager({})
    const error = await readAwsSecret({aws_credentials: {}, secret_name: 'gone'}, {}, {invocation: invocation(sm.connect)}).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(KeyflowError)
    expect((error as KeyflowError).exit).to.equal(ExitCode.NOT_FOUND)
    expect((error as KeyflowError).fix).to.contain('aws secretsmanager create-secret --name gone')
    assertNoCanary(JSON.stringify({...(error as KeyflowError)}), [value], 'the error')
  })
})
