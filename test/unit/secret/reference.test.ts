import {expect} from 'chai'
import {describe, it} from 'mocha'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {defaultKey, parseAliasedReference, parseReference} from '../../../src/lib/secret/reference.js'
import {awsNameFromArn} from '../../../src/lib/secret/sources/aws.js'

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123'
const VERSION_ID = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111'

/** The malformed-reference error for `text`, with the caret line decoded into column and width. */
function malformed(text: string): {column: number; error: KeyflowError; width: number} {
  let caught: unknown
  try {
    parseReference(text)
  } catch (error) {
    caught = error
  }

  expect(caught, `parseReference(${JSON.stringify(text)}) should throw`).to.be.instanceOf(KeyflowError)
  const error = caught as KeyflowError
  expect(error.code).to.equal('MALFORMED_REFERENCE')
  expect(error.exit).to.equal(ExitCode.USAGE)
  expect(error.details[0]).to.equal(text)
  const caret = /^( *)(\^+)$/.exec(error.details[1])
  expect(caret, 'second detail line is a caret line').to.not.equal(null)
  expect(error.where).to.equal(`reference ${JSON.stringify(text)}, column ${caret![1].length + 1}`)
  return {column: caret![1].length, error, width: caret![2].length}
}

describe('reference grammar', () => {
  describe('well-formed references', () => {
    it('a bare name goes through the chain', () => {
      expect(parseReference('DB_PASSWORD')).to.deep.equal({path: [], target: {kind: 'chain', name: 'DB_PASSWORD'}, text: 'DB_PASSWORD'})
    })

    it('keeps dots, dashes and slashes in names', () => {
      for (const name of ['db.password', 'db-password', 'prod/app/db', 'a.b-c/d_e', 'x@y+z=w']) {
        expect(parseReference(name).target).to.deep.equal({kind: 'chain', name})
      }
    })

    it('addresses one local source directly', () => {
      expect(parseReference('env://HOME').target).to.deep.equal({kind: 'env', name: 'HOME'})
      expect(parseReference('context://Token').target).to.deep.equal({kind: 'context', name: 'Token'})
      expect(parseReference('dotenv://API_KEY').target).to.deep.equal({kind: 'dotenv', name: 'API_KEY'})
      expect(parseReference('ENV://X').target).to.deep.equal({kind: 'env', name: 'X'})
    })

    it('addresses AWS by name (aws-sm:// and aws://) or by bare ARN', () => {
      expect(parseReference('aws-sm://prod/db').target).to.deep.equal({kind: 'aws', name: 'prod/db'})
      expect(parseReference('aws://prod/db').target).to.deep.equal({kind: 'aws', name: 'prod/db'})
      expect(parseReference(ARN).target).to.deep.equal({kind: 'aws', name: ARN})
      expect(parseReference(`aws-sm://${ARN}`).target).to.deep.equal({kind: 'aws', name: ARN})
    })

    it('pins a version stage or a VersionId', () => {
      expect(parseReference('aws-sm://db?stage=AWSPREVIOUS').target).to.deep.equal({kind: 'aws', name: 'db', versionStage: 'AWSPREVIOUS'})
      expect(parseReference('aws-sm://db?version-stage=custom').target).to.include({versionStage: 'custom'})
      expect(parseReference(`aws-sm://db?version-id=${VERSION_ID}`).target).to.include({versionId: VERSION_ID})
      expect(parseReference(`${ARN}?stage=AWSCURRENT&version-id=${VERSION_ID}#password`)).to.deep.equal({
        path: ['password'],
        target: {kind: 'aws', name: ARN, versionId: VERSION_ID, versionStage: 'AWSCURRENT'},
        text: `${ARN}?stage=AWSCURRENT&version-id=${VERSION_ID}#password`,
      })
    })

    it('reads a key, a dotted path, and an RFC 6901 JSON Pointer', () => {
      expect(parseReference('db#password').path).to.deep.equal(['password'])
      expect(parseReference('db#primary.host').path).to.deep.equal(['primary', 'host'])
      expect(parseReference('db#/keys/0').path).to.deep.equal(['keys', '0'])
      expect(parseReference('db#/a.b/c~1d/e~0f').path).to.deep.equal(['a.b', 'c/d', 'e~f'])
      expect(parseReference('db#/').path).to.deep.equal([''])
    })

    it('decodes %XX escapes in names, keys and parameters', () => {
      expect(parseReference('a%23b%3Fc').target).to.deep.equal({kind: 'chain', name: 'a#b?c'})
      expect(parseReference('a%20b').target).to.deep.equal({kind: 'chain', name: 'a b'})
      expect(parseReference('db#we%2Eird.key').path).to.deep.equal(['we.ird', 'key'])
      expect(parseReference('aws-sm://db?stage=A%26B').target).to.include({versionStage: 'A&B'})
    })

    it('gives the name a reference is known by', () => {
      expect(defaultKey(parseReference('DB'))).to.equal('DB')
      expect(defaultKey(parseReference('db#primary.password'))).to.equal('password')
      expect(defaultKey(parseReference(ARN))).to.equal('prod/db')
      expect(awsNameFromArn('arn:aws:secretsmanager:r:1:secret:x')).to.equal('x')
    })

    it('takes ALIAS=REFERENCE only when the alias is a variable name', () => {
      expect(parseAliasedReference('PW=db#password')).to.deep.include({key: 'PW'})
      expect(parseAliasedReference('PW=db#password').reference.path).to.deep.equal(['password'])
      expect(parseAliasedReference('a-b=c').reference.target).to.deep.equal({kind: 'chain', name: 'a-b=c'})
      expect(parseAliasedReference('=x').key).to.equal('=x')
      expect(parseAliasedReference('X=aws-sm://y=z').reference.target).to.deep.equal({kind: 'aws', name: 'y=z'})
    })
  })

  describe('malformed references, caret under the bad part', () => {
    it('an empty reference', () => {
      expect(malformed('')).to.include({column: 0, width: 1})
    })

    it('an empty name after a scheme, or before #', () => {
      expect(malformed('env://')).to.include({column: 6})
      expect(malformed('#key')).to.include({column: 0})
    })

    it('an unknown scheme', () => {
      const {column, error, width} = malformed('vault://x')
      expect({column, width}).to.deep.equal({column: 0, width: 5})
      expect(error.message).to.contain('vault')
      expect(error.fix).to.contain('aws-sm://')
      expect(malformed('constructor://x')).to.include({column: 0, width: 11})
    })

    it('nothing after #', () => {
      expect(malformed('db#')).to.include({column: 2})
    })

    it('an empty segment in a dotted path', () => {
      expect(malformed('db#a..b')).to.include({column: 5})
      expect(malformed('db#.a')).to.include({column: 3})
      expect(malformed('db#a.')).to.include({column: 5})
    })

    it('a bad % escape, in the name, a later path segment, or a pointer segment', () => {
      expect(malformed('ab%zz')).to.include({column: 2, width: 3})
      expect(malformed('db#one.t%wo')).to.include({column: 8})
      expect(malformed('db#/one/t%wo')).to.include({column: 9})
      expect(malformed('aws-sm://db?stage=%g')).to.include({column: 18})
    })

    it('spaces and control characters in a name', () => {
      expect(malformed('my secret')).to.include({column: 2, width: 1})
      expect(malformed('env://a\tb')).to.include({column: 7})
      expect(malformed('%41%42 c')).to.include({column: 6})
    })

    it('a name over 2048 characters', () => {
      expect(parseReference('n'.repeat(2048)).target).to.deep.equal({kind: 'chain', name: 'n'.repeat(2048)})
      const {column, width} = malformed('env://' + 'n'.repeat(2049))
      expect({column, width}).to.deep.equal({column: 6, width: 2049})
    })

    it('version parameters on a non-AWS reference', () => {
      const {column, error, width} = malformed('DB?stage=AWSPREVIOUS')
      expect({column, width}).to.deep.equal({column: 2, width: 18})
      expect(error.fix).to.contain('aws-sm://')
    })

    it('unknown, empty or malformed AWS parameters', () => {
      expect(malformed('aws-sm://db?color=red')).to.include({column: 12, width: 5})
      expect(malformed('aws-sm://db?stage=')).to.include({column: 12})
      expect(malformed(`aws-sm://db?stage=A&version-id=short`)).to.include({column: 20})
      expect(malformed(`aws-sm://db?stage=${'s'.repeat(257)}`)).to.include({column: 12})
    })

  })
})
