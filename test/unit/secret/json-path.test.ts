import {expect} from 'chai'
import {describe, it} from 'mocha'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {extractJsonPath} from '../../../src/lib/secret/json-path.js'
import {parseReference} from '../../../src/lib/secret/reference.js'
import {assertNoCanary, canary} from '../../support/canary.js'

const extract = (value: string | Uint8Array, reference: string) => extractJsonPath(value, parseReference(reference))

function extractError(value: string, reference: string): KeyflowError {
  try {
    extract(value, reference)
  } catch (error) {
    expect(error).to.be.instanceOf(KeyflowError)
    return error as KeyflowError
  }

  throw new Error(`extracting ${reference} should fail`)
}

describe('JSON path extraction', () => {
  const secret = canary('json')
  const document = JSON.stringify({
    db: {primary: {host: 'db1', port: 5432}, replicas: ['r1', 'r2']},
    'dotted.key': 'dots',
    empty: '',
    flag: true,
    nothing: null,
    password: secret,
    'slash/key': 'slash',
  })

  it('reads a top-level key without quoting', () => {
    expect(extract(document, 'X#password') === secret).to.equal(true)
    expect(extract(document, 'X#empty')).to.equal('')
  })

  it('reads nested keys and array items', () => {
    expect(extract(document, 'X#db.primary.host')).to.equal('db1')
    expect(extract(document, 'X#db.replicas.1')).to.equal('r2')
    expect(extract(document, 'X#/db/replicas/0')).to.equal('r1')
  })

  it('writes non-string values as JSON', () => {
    expect(extract(document, 'X#db.primary.port')).to.equal('5432')
    expect(extract(document, 'X#flag')).to.equal('true')
    expect(extract(document, 'X#nothing')).to.equal('null')
    expect(extract(document, 'X#db.primary')).to.equal('{"host":"db1","port":5432}')
  })

  it('reads keys holding dots or slashes through a JSON Pointer', () => {
    expect(extract(document, 'X#/dotted.key')).to.equal('dots')
    expect(extract(document, 'X#/slash~1key')).to.equal('slash')
  })

  it('reads a binary (UTF-8) JSON secret', () => {
    expect(extract(new TextEncoder().encode(document), 'X#db.primary.host')).to.equal('db1')
  })

  it('a value that is not JSON: exit 5, without quoting the value', () => {
    const error = extractError(`{"a": ${secret}`, 'X#a')
    expect(error.code).to.equal('SECRET_NOT_JSON')
    expect(error.exit).to.equal(ExitCode.BAD_VALUE)
    assertNoCanary(JSON.stringify(error.toJSON()), [secret], 'the not-JSON error')
  })

  it('a missing key: exit 5, counting the keys that are there without naming them (key names can be secret)', () => {
    const error = extractError(document, 'X#passwd')
    expect(error.code).to.equal('SECRET_KEY_NOT_FOUND')
    expect(error.exit).to.equal(ExitCode.BAD_VALUE)
    expect(error.message).to.equal('Key "passwd" is not in the secret of "X#passwd".')
    expect(error.fix).to.match(/an object with \d+ keys, none named "passwd"/)
    expect(JSON.stringify(error.toJSON())).not.to.contain('password')
    assertNoCanary(JSON.stringify(error.toJSON()), [secret], 'the missing-key error')
  })

  it('a key under a value that is not an object, or an index out of range', () => {
    expect(extractError(document, 'X#db.primary.host.x').fix).to.equal('"db.primary.host" is a string, not an object.')
    expect(extractError(document, 'X#db.replicas.2').fix).to.equal('"db.replicas" is an array, not an object.')
    expect(extractError(document, 'X#nothing.x').fix).to.equal('"nothing" is null, not an object.')
    expect(extractError('"just a string"', 'X#a').fix).to.equal('the secret is a string, not an object.')
  })

  it('does not read inherited properties', () => {
    expect(extractError('{}', 'X#constructor').code).to.equal('SECRET_KEY_NOT_FOUND')
    expect(extractError('[]', 'X#length').code).to.equal('SECRET_KEY_NOT_FOUND')
  })
})
