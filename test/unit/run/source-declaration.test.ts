import {expect} from 'chai'
import {describe, it} from 'mocha'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {resolveSettings} from '../../../src/lib/invocation.js'
import {sourceDeclaration} from '../../../src/lib/run/project.js'
import {BUILTIN_SOURCES} from '../../../src/lib/secret/sources/index.js'
import {tempDir} from '../../support/cli.js'

const ROLE = 'arn:aws:iam::123456789012:role/team/secrets-reader'

function refusal(parse: () => unknown): KeyflowError {
  try {
    parse()
  } catch (error) {
    expect(error).to.be.instanceOf(KeyflowError)
    return error as KeyflowError
  }

  throw new Error('expected a refusal')
}

/** Metaflow's per-source role and options.region, as keyflow.json and --source '{...}' give them. */
describe('a source declaration with a role and a region', () => {
  it('puts them on the reference target, for ids, aws-sm:// references and ARNs alike', () => {
    const arn = 'arn:aws:secretsmanager:ap-south-1:123456789012:secret:team/env-AbCdEf'
    for (const id of ['team/env', 'aws-sm://team/env', 'aws-secrets-manager.team/env', arn]) {
      const {target} = sourceDeclaration({id, options: {region: 'eu-west-1'}, role: ROLE}, 'sources[0]', BUILTIN_SOURCES).reference
      expect(target).to.include({kind: 'aws', region: 'eu-west-1', role: ROLE})
    }

    expect(sourceDeclaration('team/env', 'sources[0]', BUILTIN_SOURCES).reference.target).to.not.have.any.keys('region', 'role')
    expect(sourceDeclaration({id: 'team/env', role: ROLE}, 'sources[0]', BUILTIN_SOURCES).reference.target).to.include({role: ROLE})
  })

  it('refuses, as usage errors naming the place, a malformed role ARN or region, and either on a source that is not AWS', () => {
    const cases: Array<[unknown, string, string]> = [
      [{id: 'team/env', role: 'reader'}, 'sources[0].role', 'Expected an IAM role ARN'],
      [{id: 'team/env', role: 'arn:aws:iam::123456789012:user/someone'}, 'sources[0].role', 'Expected an IAM role ARN'],
      [{id: 'team/env', role: 42}, 'sources[0].role', 'Expected an IAM role ARN'],
      [{id: 'team/env', options: {region: 'Europe'}}, 'sources[0].options.region', 'Expected an AWS region'],
      [{id: 'team/env', options: {region: ''}}, 'sources[0].options.region', 'Expected an AWS region'],
      [{id: 'dotenv://APP_ENV', role: ROLE}, 'sources[0].role', 'apply only to AWS Secrets Manager sources'],
      [{id: 'env://APP_ENV', options: {region: 'eu-west-1'}}, 'sources[0].options.region', 'apply only to AWS Secrets Manager sources'],
      [{id: 'team/env', options: {profile: 'x'}}, 'sources[0].options', 'Unknown option "profile"'],
    ]
    for (const [item, where, message] of cases) {
      const error = refusal(() => sourceDeclaration(item, 'sources[0]', BUILTIN_SOURCES))
      expect(error.exit, JSON.stringify(item)).to.equal(ExitCode.USAGE)
      expect(error.where).to.equal(where)
      expect(error.message).to.contain(message)
    }
  })

  it('checks the default role (aws.role, KEYFLOW_AWS_ROLE, METAFLOW_DEFAULT_SECRETS_ROLE) the same way', () => {
    const dir = tempDir()
    try {
      const resolve = (env: Record<string, string>) => resolveSettings({cwd: dir.path, env: {KEYFLOW_HOME: dir.path, KEYFLOW_PROJECT_FILE: '', ...env}})
      expect(resolve({METAFLOW_DEFAULT_SECRETS_ROLE: ROLE}).awsRole).to.equal(ROLE)
      const error = refusal(() => resolve({METAFLOW_DEFAULT_SECRETS_ROLE: 'secrets-reader'}))
      expect(error.exit).to.equal(ExitCode.USAGE)
      expect(error.where).to.equal('env METAFLOW_DEFAULT_SECRETS_ROLE')
      expect(error.message).to.equal('Expected an IAM role ARN.')
    } finally {
      dir.cleanup()
    }
  })
})
