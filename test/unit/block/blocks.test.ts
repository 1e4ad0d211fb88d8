/// <reference types="mocha" />
/* eslint-disable camelcase -- block field names are snake_case, as in Prefect */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import type {BlockOf} from '../../../src/lib/library.js'

import {AWS_BLOCK_TYPES} from '../../../src/lib/aws/block-types.js'
import {BUILTIN_TYPES} from '../../../src/lib/block-types.js'
import {BlockContext} from '../../../src/lib/block/context.js'
import {maskSecrets, resealSecrets, sealSecrets, unsealSecrets} from '../../../src/lib/block/documents/fields.js'
import {validateData} from '../../../src/lib/block/documents/validate.js'
import {keyId, Keyring, seal, unseal} from '../../../src/lib/block/keys/crypto.js'
import {checkDocumentName, checkSlug, parseBlockAddress} from '../../../src/lib/block/names.js'
import {LocalStore} from '../../../src/lib/block/store/local.js'
import {SECRET_TYPES} from '../../../src/lib/block/types/builtin.js'
import {checksumOf, pythonJson} from '../../../src/lib/block/types/canonical.js'
import {checkDefinition} from '../../../src/lib/block/types/definition.js'
import {KeyflowError} from '../../../src/lib/errors.js'
import {createInvocation} from '../../../src/lib/invocation.js'
import {SNOWFLAKE_BLOCK_TYPES} from '../../../src/lib/snowflake/block-types.js'
import {rejected} from '../../support/block-fixtures.js'
import {assertNoCanary, assertNoCanaryInTree, canary} from '../../support/canary.js'
import {tempDir} from '../../support/cli.js'

const builtin = (slug: string) => BUILTIN_TYPES.get(slug)!

function thrown(fn: () => unknown): KeyflowError {
  try {
    fn()
  } catch (error) {
    if (error instanceof KeyflowError) return error
    throw error
  }

  throw new Error('expected a KeyflowError')
}


describe('blocks (unit)', () => {
  describe('blocks: names', () => {
    it('accepts Prefect slugs and names and rejects the rest', () => {
      for (const good of ['secret', 'aws-credentials', 'a1', '0-x']) expect(checkSlug(good)).to.equal(good)
      for (const bad of ['', 'Aws', 'a_b', 'a/b', '-a', 'a b', 'x'.repeat(101)]) expect(thrown(() => checkSlug(bad)).code).to.equal('INVALID_SLUG')
      expect(thrown(() => checkDocumentName('Prod')).code).to.equal('INVALID_NAME')
      expect(parseBlockAddress('snowflake-credentials/prod')).to.deep.equal({name: 'prod', type: 'snowflake-credentials'})
      expect(thrown(() => parseBlockAddress('prod')).code).to.equal('INVALID_BLOCK_ADDRESS')
      expect(thrown(() => parseBlockAddress('a/b/c')).code).to.equal('INVALID_NAME')
    })
  })

  describe('blocks: checksums', () => {
    it('writes canonical JSON byte for byte as Python json.dumps(sort_keys=True)', function () {
      const value = {a: {y: -0.5, z: 'é ☃ \u0001 "q"'}, b: [1, 2.5, 1e21, true, null], 'ü': 3}
      const python = spawnSync('python3', ['-c', 'import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True))'], {
        input: JSON.stringify(value),
      })
      if (python.status !== 0) this.skip()
      expect(pythonJson(value)).to.equal(python.stdout.toString('utf8'))
    })

    it('hashes [[fields], {}] as sha256:<hex> and changes when a secret field changes', () => {
      expect(checksumOf({a: 1})).to.match(/^sha256:[\da-f]{64}$/)
      const fields = {properties: {a: {type: 'string'}, b: {type: 'string'}}, type: 'object'}
      const one = checkDefinition({fields, name: 'T', secretFields: ['a'], slug: 't'}, 'test', new Set()).type!
      const two = checkDefinition({fields, name: 'T', secretFields: ['b'], slug: 't'}, 'test', new Set()).type!
      const same = checkDefinition({description: 'other words', fields, name: 'T2', secretFields: ['a'], slug: 't'}, 'test', new Set()).type!
      expect(one.checksum).to.not.equal(two.checksum)
      expect(one.checksum).to.equal(same.checksum)
    })
  })

  describe('blocks: definitions', () => {
    it('reports every problem of a definition at once', () => {
      const {problems, type} = checkDefinition(
        {extra: 1, fields: {properties: {a: {type: 'nope'}, n: {blockType: 'missing'}}, type: 'object'}, name: '', secretFields: ['zzz', 'n.x'], slug: 'Bad'},
        'mod',
        new Set(),
      )
      expect(type).to.equal(undefined)
      const text = problems.join('\n')
      for (const part of ['unknown key "extra"', 'slug "Bad"', 'name must be', 'nests block type "missing"', 'not a valid JSON Schema', '"zzz" does not name', '"n.x"']) {
        expect(text).to.include(part)
      }
    })

    it('builds the built-ins with Prefect secret fields, nested ones included', async () => {
      const context = await createInvocation({env: {KEYFLOW_HOME: '/nonexistent'}}).blocks()
      expect(context.registry.secretPaths(builtin('snowflake-credentials'))).to.have.members(['password', 'private_key', 'private_key_passphrase', 'token'])
      // Before all() the registry has not loaded the nested type; load them through the built-in map instead.
      const connector = builtin('snowflake-connector')
      expect(connector.references).to.deep.equal({credentials: 'snowflake-credentials'})
      expect(builtin('aws-secret').references).to.deep.equal({aws_credentials: 'aws-credentials'})
    })

    it('checks every built-in in full, its JSON Schema compiled (keyflow skips that at start)', () => {
      const known = new Set<string>()
      for (const pack of [SECRET_TYPES, AWS_BLOCK_TYPES, SNOWFLAKE_BLOCK_TYPES]) {
        for (const definition of pack.definitions) {
          const {problems, type} = checkDefinition(definition, definition.slug, known)
          expect(problems).to.deep.equal([])
          expect(type?.checksum).to.equal(builtin(definition.slug).checksum)
          known.add(definition.slug)
        }
      }
    })
  })

  describe('blocks: library types', () => {
    it('types the data of built-in blocks by address, and others as records', () => {
      const connector: BlockOf<'snowflake-connector/prod'> = {credentials: {account: 'a', password: 'p'}, database: 'd', schema: 's', warehouse: 'w'}
      const other: BlockOf<'acme-api/x'> = {anything: 1}
      expect([connector.credentials.account, other.anything]).to.deep.equal(['a', 1])
    })
  })

  describe('blocks: validation', () => {
    let dir: ReturnType<typeof tempDir>
    let context: BlockContext

    before(async () => {
      dir = tempDir()
      context = await createInvocation({env: {KEYFLOW_HOME: dir.path}}).blocks()
      await context.registry.all()
    })

    after(() => dir.cleanup())

    const check = async (slug: string, data: unknown) =>
      (await validateData(context, BUILTIN_TYPES.get(slug)!, data)).map((violation) => `${violation.path}: ${violation.message}`)

    it('applies Prefect SnowflakeCredentials rules, all at once', async () => {
      expect((await check('snowflake-credentials', {account: 'a'})).join('\n')).to.include('One of the authentication keys must be provided')
      const both = await check('snowflake-credentials', {account: 'a', password: 'p', private_key: 'k', private_key_passphrase: 'x', private_key_path: '/k', user: 'u'})
      expect(both.join('\n')).to.include('private_key_path: Do not provide both private_key and private_key_path')
      expect(both.join('\n')).to.include('private_key_passphrase: Do not provide both password and private_key_passphrase')
      expect(await check('snowflake-credentials', {account: 'a', authenticator: 'oauth', user: 'u'})).to.deep.equal(['token: If authenticator is set to `oauth`, `token` must be provided'])
      expect(await check('snowflake-credentials', {account: 'a', authenticator: 'okta_endpoint', user: 'u'})).to.deep.equal([
        'endpoint: If authenticator is set to `okta_endpoint`, `endpoint` must be provided',
      ])
      expect(await check('snowflake-credentials', {account: 'a', password: 'p', user: 'u'})).to.deep.equal([])
      expect(await check('snowflake-credentials', {account: 'a', authenticator: 'bogus', password: 'p', user: 'u'})).to.have.length(1)
    })

    it('counts a reference as a given secret and checks nested blocks', async () => {
      expect(await check('snowflake-credentials', {account: 'a', password: {$ref: 'aws-sm://pw'}, user: 'u'})).to.deep.equal([])
      const nested = await check('snowflake-connector', {credentials: {account: 'a'}, database: 'd', extra: 1, port: 0, schema: 's', warehouse: 'w'})
      expect(nested.join('\n')).to.include('credentials: One of the authentication keys must be provided')
      expect(nested.join('\n')).to.include('extra: unknown field')
      expect(nested.join('\n')).to.include('port: must be >= 1')
      expect(await check('snowflake-connector', {credentials: {$block: 'snowflake-credentials/nope'}, database: 'd', schema: 's', warehouse: 'w'})).to.deep.equal([
        'credentials: no saved document snowflake-credentials/nope',
      ])
      expect(await check('aws-credentials', {})).to.deep.equal([])
      expect(await check('aws-secret', {secret_name: 'x'})).to.deep.equal(['aws_credentials: is required'])
    })
  })

  describe('blocks: encryption', () => {
    let dir: ReturnType<typeof tempDir>

    beforeEach(() => {
      dir = tempDir()
    })

    afterEach(() => dir.cleanup())

    it('round-trips secret fields, nested ones included, and leaves references and other fields readable', () => {
      const secret = canary('pw')
      const keyring = new Keyring(dir.path, {})
      const data = {account: 'acct', credentials: {password: secret, user: 'u'}, token: {$ref: 'aws-sm://x#y'}}
      const sealed = sealSecrets(data, ['credentials.password', 'token'], 'a/b', keyring)
      const text = JSON.stringify(sealed)
      assertNoCanary(text, [secret], 'sealed document')
      expect(text).to.include('"account":"acct"').and.include('aws-sm://x#y')
      expect(unsealSecrets(sealed, 'a/b', keyring, 'test')).to.deep.equal(data)
      expect(maskSecrets(data, ['credentials.password', 'token'])).to.deep.equal({...data, credentials: {password: '********', user: 'u'}})
      expect((readFileSync(join(dir.path, 'master.key')).length)).to.be.greaterThan(40)
      assertNoCanaryInTree(dir.path, [secret])
    })

    it('refuses a wrong key, a moved ciphertext and a tampered one, with INTEGRITY errors', () => {
      const secret = canary('pw')
      const keyring = new Keyring(dir.path, {})
      const sealed = seal(secret, 'a/b:password', keyring.encryptionKey())
      const other = new Keyring(dir.path, {KEYFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64')})
      const wrong = thrown(() => unseal(sealed, 'a/b:password', other, 'f'))
      expect(wrong.code).to.equal('MASTER_KEY_WRONG')
      expect(wrong.exit).to.equal(8)
      expect(thrown(() => unseal(sealed, 'a/c:password', keyring, 'f')).code).to.equal('SECRET_TAMPERED')
      const ciphertext = Buffer.from(sealed.ct, 'base64')
      ciphertext[0] = ciphertext[0] === 0 ? 1 : 0
      const flipped = {...sealed, ct: ciphertext.toString('base64')}
      expect(thrown(() => unseal(flipped, 'a/b:password', keyring, 'f')).code).to.equal('SECRET_TAMPERED')
      for (const error of [wrong]) assertNoCanary(`${error.message}${error.details.join('')}${error.fix}`, [secret], 'error')
    })

    it('refuses a key file others can read, and a malformed env key', () => {
      mkdirSync(dir.path, {recursive: true})
      writeFileSync(join(dir.path, 'master.key'), Buffer.alloc(32, 1).toString('base64'))
      chmodSync(join(dir.path, 'master.key'), 0o644)
      expect(thrown(() => new Keyring(dir.path, {}).encryptionKey()).code).to.equal('UNTRUSTED_PATH')
      expect(thrown(() => new Keyring(dir.path, {KEYFLOW_MASTER_KEY: 'short'}).encryptionKey()).code).to.equal('MASTER_KEY_INVALID')
    })

    it('re-encrypts with a new key for rotation', () => {
      const secret = canary('pw')
      const keyring = new Keyring(dir.path, {})
      const sealed = sealSecrets({value: secret}, ['value'], 's/x', keyring)
      const next = keyring.startFileRotation()
      const {changed, data} = resealSecrets({address: 's/x', record: {data: sealed}, where: 'f'}, keyring, next)
      expect(changed).to.equal(1)
      expect((data.value as {$secret: {kid: string}}).$secret.kid).to.equal(next.id)
      keyring.promoteNextFile()
      expect(keyId(keyring.encryptionKey().key)).to.equal(next.id)
      expect(unsealSecrets(data, 's/x', keyring, 'f')).to.deep.equal({value: secret})
    })
  })

  describe('blocks: local store', () => {
    let dir: ReturnType<typeof tempDir>

    beforeEach(() => {
      dir = tempDir()
    })

    afterEach(() => dir.cleanup())

    it('does compare-and-swap on revisions and keeps files private', async () => {
      const store = new LocalStore(join(dir.path, 'blocks'))
      expect(await store.put('documents/t/a', {x: 1}, null)).to.equal(1)
      expect((await rejected(store.put('documents/t/a', {x: 2}, null))).code).to.equal('ALREADY_EXISTS')
      expect(await store.put('documents/t/a', {x: 2}, 1)).to.equal(2)
      const stale = await rejected(store.put('documents/t/a', {x: 3}, 1))
      expect(stale.code).to.equal('CONFLICT')
      expect(stale.exit).to.equal(7)
      expect(await store.get('documents/t/a')).to.deep.equal({revision: 2, value: {x: 2}})
      expect(await store.list('documents/')).to.deep.equal(['documents/t/a'])
      const {statSync} = await import('node:fs')
      expect((statSync(store.where('documents/t/a')).mode % 0o1000).toString(8)).to.equal('600')
      expect((statSync(join(dir.path, 'blocks', 'documents', 't')).mode % 0o1000).toString(8)).to.equal('700')
      await store.delete('documents/t/a', 2)
      expect(await store.get('documents/t/a')).to.equal(undefined)
    })

    it('reports a failed write clearly and leaves no temporary file', async () => {
      const store = new LocalStore(join(dir.path, 'blocks'))
      await store.put('documents/t/kept', {x: 1}, null)
      // A directory squatting on the target path makes the final rename fail, as a broken disk would.
      mkdirSync(store.where('documents/t/squat'), {recursive: true})
      const error = await rejected(store.put('documents/t/squat', {x: 1}))
      expect([error.code, error.exit]).to.deep.equal(['STORE_WRITE_FAILED', 8])
      expect((await store.get('documents/t/kept'))?.value).to.deep.equal({x: 1})
      const {readdirSync} = await import('node:fs')
      expect(readdirSync(join(dir.path, 'blocks', 'documents', 't')).filter((name) => name.endsWith('.tmp'))).to.deep.equal([])
      expect(readdirSync(join(dir.path, 'blocks')).filter((name) => name.startsWith('.lock'))).to.deep.equal([])
    })

    it('breaks a lock left by a process that died', async () => {
      const store = new LocalStore(join(dir.path, 'blocks'))
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!
      mkdirSync(store.location, {recursive: true})
      writeFileSync(join(store.location, '.lock'), `${dead} ${hostname()} ${Date.now()}\n`)
      expect(await store.put('documents/t/after-crash', {x: 1}, null)).to.equal(1)
      expect(existsSync(join(store.location, '.lock'))).to.equal(false)
    })

    it('names a corrupt file and keeps the others readable', async () => {
      const store = new LocalStore(join(dir.path, 'blocks'))
      await store.put('documents/t/good', {x: 1}, null)
      await store.put('documents/t/bad', {x: 1}, null)
      writeFileSync(store.where('documents/t/bad'), '{"revision": 1, "x": ')
      const error = await rejected(store.get('documents/t/bad'))
      expect(error.code).to.equal('STORE_CORRUPT')
      expect(error.where).to.equal(store.where('documents/t/bad'))
      expect((await store.get('documents/t/good'))?.value).to.deep.equal({x: 1})
    })
  })
})
