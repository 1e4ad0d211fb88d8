import {expect} from 'chai'
import * as fc from 'fast-check'
import {after, before, describe, it} from 'mocha'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BUILTIN_TYPES} from '../../src/lib/block-types.js'
import {BlockContext} from '../../src/lib/block/context.js'
import {gatherInput, unsetPath} from '../../src/lib/block/documents/input.js'
import {openData, readDocument} from '../../src/lib/block/documents/records.js'
import {validateData} from '../../src/lib/block/documents/validate.js'
import {isBlockAddress, parseBlockAddress} from '../../src/lib/block/names.js'
import {checkDefinition} from '../../src/lib/block/types/definition.js'
import {ExitCode, KeyflowError} from '../../src/lib/errors.js'
import {createInvocation, DEFAULT_SOURCES, resolveSettings} from '../../src/lib/invocation.js'
import {parseRunSection, parseSource} from '../../src/lib/run/project.js'
import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'

/**
 * The parsers of the block and run areas: each input either parses or yields a KeyflowError
 * with a documented exit code, never another exception. FC_RUNS raises the run counts.
 */
const runs = (count: number) => ({numRuns: Number(process.env.FC_RUNS ?? count)})

function expectClearFailure(error: unknown, exits: number[]): KeyflowError {
  if (!(error instanceof KeyflowError)) throw error
  expect(exits).to.include(error.exit)
  expect(error.message).to.not.match(/\n\s+at /)
  return error
}

/** What `work` resolves to, or the KeyflowError it rejects with (checked to be a clear one). */
async function clearly<T>(exits: number[], work: Promise<T>): Promise<KeyflowError | T> {
  try {
    return await work
  } catch (error) {
    return expectClearFailure(error, exits)
  }
}

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64')

/** Values of any JSON type, with the strings keyflow gives meaning to now and then. */
const meaningful = fc.oneof(
  {arbitrary: fc.jsonValue({maxDepth: 3}), weight: 3},
  {arbitrary: fc.constantFrom('db#password', 'aws-sm://x', 'env://X', 'secret/prod', '%zz', '', 'arn:aws:x', '__proto__', 'NAME=ref', '=x'), weight: 2},
  {arbitrary: fc.record({id: fc.string(), optional: fc.boolean(), ref: fc.string()}, {requiredKeys: []}), weight: 2},
)

const runSection = fc.oneof(
  fc.jsonValue({maxDepth: 4}),
  fc.dictionary(
    fc.oneof({arbitrary: fc.constantFrom('blocks', 'envStyle', 'mask', 'pristine', 'secrets', 'sources'), weight: 5}, {arbitrary: fc.string(), weight: 1}),
    fc.oneof(meaningful, fc.array(meaningful, {maxLength: 4}), fc.dictionary(fc.string({maxLength: 6}), meaningful, {maxKeys: 4}), fc.constantFrom('prefect', 'plain', 'both', 'auto', 'always', 'never')),
    {maxKeys: 6},
  ),
)

describe('property: block and run parsers never throw anything but a clear KeyflowError', () => {
  it('the run section of keyflow.json: declarations, or exit 2 naming the place in the file', () => {
    fc.assert(
      fc.property(runSection, (raw) => {
        const result = (() => {
          try {
            return parseRunSection(raw, '/p/keyflow.json', DEFAULT_SOURCES)
          } catch (error) {
            return expectClearFailure(error, [ExitCode.USAGE])
          }
        })()
        if (result instanceof KeyflowError) {
          expect(result.where).to.be.a('string').and.match(/^\/p\/keyflow\.json run/)
          return
        }

        for (const list of [result.secrets, result.sources, result.blocks]) {
          for (const item of list) expect(item.origin).to.match(/^\/p\/keyflow\.json run\./)
        }
      }),
      runs(3000),
    )
  })

  it('source ids (--source, run.sources): a reference, or exit 2', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({unit: 'binary'}), fc.constantFrom('app/x', 'arn:aws:secretsmanager:x', 'dotenv://', 'aws-sm://', 'x://y')), (text) => {
        try {
          parseSource(text, DEFAULT_SOURCES)
        } catch (error) {
          expectClearFailure(error, [ExitCode.USAGE])
        }
      }),
      runs(2000),
    )
  })

  const definitionShaped = fc.record(
    {
      description: fc.oneof(fc.string(), fc.jsonValue()),
      fields: fc.oneof(
        fc.jsonValue({maxDepth: 3}),
        fc.record({
          properties: fc.dictionary(
            fc.oneof(fc.constantFrom('password', 'user', 'nested', 'a.b', '', '$ref'), fc.string({maxLength: 8})),
            fc.oneof(
              fc.record({type: fc.constantFrom('string', 'integer', 'object', 'array', 'nope', 7)}, {requiredKeys: []}),
              fc.record({blockTypeSlug: fc.constantFrom('secret', 'aws-credentials', 'unknown', 'self', 'Bad Slug')}),
              fc.record({$ref: fc.constantFrom('#/definitions/x', 'http://x', '#')}),
              fc.jsonValue({maxDepth: 2}),
            ),
            {maxKeys: 4},
          ),
          required: fc.oneof(fc.array(fc.constantFrom('password', 'user', 'x')), fc.jsonValue({maxDepth: 1})),
          type: fc.constantFrom('object', 'string'),
        }, {requiredKeys: ['properties']}),
      ),
      name: fc.oneof(fc.string(), fc.jsonValue({maxDepth: 1})),
      secretFields: fc.oneof(fc.array(fc.constantFrom('password', 'user', 'nested.password', 'missing', '', '*', 'nested.*')), fc.jsonValue({maxDepth: 1})),
      slug: fc.oneof(fc.constantFrom('self', 'my-type', 'secret', 'Bad', '', 'a'.repeat(101)), fc.string({maxLength: 12}), fc.jsonValue({maxDepth: 1})),
      version: fc.oneof(fc.string(), fc.integer()),
    },
    {requiredKeys: []},
  )

  it('block type definitions: a type, or problems that each name the definition; never a throw', () => {
    const known = new Set(['self', ...BUILTIN_TYPES.keys()])
    fc.assert(
      fc.property(fc.oneof(definitionShaped, fc.jsonValue({maxDepth: 3})), (raw) => {
        const {problems, type} = checkDefinition(raw, 'def.json #1', known)
        expect(problems.every((problem) => problem.startsWith('def.json #1: '))).to.equal(true)
        expect(type === undefined).to.equal(problems.length > 0)
      }),
      runs(2000),
    )
  })

  it('block type definitions through the registry: registered, or exit 6 with every problem', async () => {
    const dir = tempDir()
    try {
      const context = await createInvocation({env: {KEYFLOW_HOME: join(dir.path, 'home'), KEYFLOW_MASTER_KEY: MASTER_KEY}}).blocks()
      await fc.assert(
        fc.asyncProperty(fc.array(definitionShaped, {maxLength: 3}), async (definitions) => {
          const result = await clearly([ExitCode.VALIDATION, ExitCode.USAGE], context.registry.register(definitions, 'def.json'))
          if (result instanceof KeyflowError && result.exit === ExitCode.VALIDATION) expect(result.details.length).to.be.greaterThan(0)
        }),
        runs(300),
      )
    } finally {
      dir.cleanup()
    }
  })

  describe('block documents', () => {
    let dir: ReturnType<typeof tempDir>
    let context: BlockContext
    const secret = canary('doc')
    let file: string
    let original: Buffer

    before(async () => {
      dir = tempDir()
      const env = {...baseEnv(dir.path), KEYFLOW_MASTER_KEY: MASTER_KEY}
      const created = await runCli(['block', 'create', 'secret', 'x', '--stdin-field', 'value'], {env, input: secret})
      expect(created.code, created.stderr).to.equal(0)
      context = await createInvocation({env}).blocks()
      file = join(dir.path, '.keyflow', 'blocks', 'documents', 'secret', 'x.json')
      original = readFileSync(file)
    })

    after(() => dir.cleanup())

    const documentData = fc.oneof(
      fc.jsonValue({maxDepth: 3}),
      fc.dictionary(
        fc.oneof(fc.constantFrom('value', 'aws_access_key_id', 'aws_secret_access_key', 'region_name', 'account', 'user', 'password', 'credentials', 'role', 'private_key', 'authenticator'), fc.string({maxLength: 6})),
        fc.oneof(
          fc.jsonValue({maxDepth: 2}),
          fc.record({$ref: fc.oneof(fc.string(), fc.constantFrom('aws-sm://x#k', 'env://X'))}),
          fc.record({$block: fc.oneof(fc.string(), fc.constantFrom('snowflake-credentials/prod', 'secret/x', 'nope/x'))}),
          fc.record({$secret: fc.jsonValue({maxDepth: 1})}),
          fc.dictionary(fc.constantFrom('account', 'user', 'password', 'x'), fc.jsonValue({maxDepth: 1}), {maxKeys: 3}),
        ),
        {maxKeys: 5},
      ),
    )

    it('any data against every built-in type: violations with field paths, never a throw', async () => {
      const types = [...BUILTIN_TYPES.values()]
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...types), documentData, async (type, data) => {
          const result = await clearly([ExitCode.USAGE, ExitCode.NOT_FOUND, ExitCode.INTEGRITY], validateData(context, type, data))
          if (Array.isArray(result)) for (const violation of result) expect(violation.message).to.be.a('string').and.not.equal('')
        }),
        runs(1500),
      )
    })

    const openStored = async () => {
      const document = await readDocument(context, {name: 'x', type: 'secret'})
      return document ? openData(context, document) : undefined
    }

    it('the stored document: any bytes, or the real one with bytes changed, opens or is exit 8 naming the file', async () => {
      const mutated = fc
        .array(fc.record({at: fc.nat(), byte: fc.integer({max: 255, min: 0})}), {maxLength: 4, minLength: 1})
        .map((edits) => {
          const bytes = Buffer.from(original)
          for (const {at, byte} of edits) bytes[at % bytes.length] = byte
          return bytes
        })
      const truncated = fc.nat().map((length) => original.subarray(0, length % original.length))
      const recordShaped = fc.jsonValue({maxDepth: 3}).map((data) => {
        const record = JSON.parse(original.toString('utf8'))
        return Buffer.from(JSON.stringify({...record, data: {value: data}}))
      })
      await fc.assert(
        fc.asyncProperty(fc.oneof(mutated, truncated, recordShaped, fc.uint8Array({maxLength: 200}).map((bytes) => Buffer.from(bytes))), async (bytes) => {
          writeFileSync(file, bytes)
          const result = await clearly([ExitCode.INTEGRITY], openStored())
          if (result instanceof KeyflowError) {
            expect(result.where).to.equal(file)
            assertNoCanary(JSON.stringify(result.toJSON()), [secret], 'a corrupt document error')
          }
        }),
        runs(1500),
      )
      writeFileSync(file, original)
    })

    it('--field assignments: set, or exit 2/3 that never quotes the value', async () => {
      const types = [...BUILTIN_TYPES.values()]
      const value = fc.oneof(fc.string(), fc.constantFrom('aws-sm://x#k', 'prod', '{"a":1}', '12', 'true', 'a/b', ''))
      const path = fc.oneof(
        fc.constantFrom('value', 'account', 'user', 'password', 'credentials', 'credentials.account', 'credentials.password', 'region_name', 'a.b.c', '', '.', 'x-y', '1a'),
        fc.string({maxLength: 10}),
      )
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...types), fc.array(fc.tuple(path, value), {maxLength: 3}), async (type, pairs) => {
          const values = pairs.map(([, raw]) => `V${raw}Z`)
          const field = pairs.map(([name], index) => `${name}=${values[index]}`)
          const result = await clearly([ExitCode.USAGE, ExitCode.NOT_FOUND], gatherInput(context, type, {field}))
          if (result instanceof KeyflowError) {
            const text = JSON.stringify(result.toJSON())
            // A value given to a secret field, or after a malformed path, may be a secret typed by
            // mistake: never quoted. (A reference, scheme://, is no secret: it is quoted with a caret.)
            const secretPaths = new Set(context.registry.secretPaths(type))
            for (const [index, [field]] of pairs.entries()) {
              const guarded = secretPaths.has(field) || !/^[A-Z_a-z]\w*(?:\.(?:\w|-)+)*$/.test(field)
              if (guarded && values[index].length > 8 && !values[index].includes('://')) expect(text.includes(values[index])).to.equal(false)
            }
          }
        }),
        runs(1500),
      )
    })
  })

  it('field paths naming __proto__, constructor or prototype never reach a prototype (--field, --unset)', async () => {
    const dir = tempDir()
    const before = Object.getOwnPropertyNames(Object.prototype).sort()
    try {
      const context = await createInvocation({env: {KEYFLOW_HOME: join(dir.path, 'home'), KEYFLOW_MASTER_KEY: MASTER_KEY}}).blocks()
      await context.registry.register([{fields: {properties: {plain: {type: 'object'}, text: {type: 'string'}}}, name: 'Obj', slug: 'obj'}], 'test')
      const type = await context.registry.get('obj')
      const segment = fc.constantFrom('__proto__', 'constructor', 'prototype', 'plain', 'text', 'polluted', 'toString', 'hasOwnProperty')
      const path = fc.array(segment, {maxLength: 5, minLength: 1}).map((segments) => segments.join('.'))
      await fc.assert(
        fc.asyncProperty(fc.array(path, {maxLength: 3}), fc.array(path, {maxLength: 2}), async (fields, unsets) => {
          const assignments = fields.map((field) => `${field}=1`)
          const data = await clearly([ExitCode.USAGE], gatherInput(context, type, {field: assignments}))
          if (!(data instanceof KeyflowError)) for (const unset of unsets) unsetPath(data, unset)
          expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(before)
          expect(typeof Object.prototype.hasOwnProperty).to.equal('function')
        }),
        runs(1500),
      )
    } finally {
      dir.cleanup()
    }
  })

  it('block addresses: TYPE/NAME of checked names, or exit 2; isBlockAddress agrees on short ones', () => {
    const addressish = fc.string({
      maxLength: 30,
      unit: fc.oneof({arbitrary: fc.constantFrom(...'ab0-/'), weight: 6}, {arbitrary: fc.constantFrom('A', '_', '.', ' ', '\0', 'é', '\n'), weight: 1}),
    })
    fc.assert(
      fc.property(fc.oneof(addressish, fc.string({unit: 'binary'}), fc.nat({max: 300}).map((length) => `t/${'n'.repeat(length)}`)), (text) => {
        let parsed
        try {
          parsed = parseBlockAddress(text)
        } catch (error) {
          expectClearFailure(error, [ExitCode.USAGE])
          expect(isBlockAddress(text) && text.length <= 100).to.equal(false)
          return
        }

        expect(`${parsed.type}/${parsed.name}`).to.equal(text)
        expect(parsed.name.length).to.be.at.most(100)
        expect(isBlockAddress(text)).to.equal(true)
      }),
      runs(3000),
    )
  })

  it('flag values (--aws-max-attempts, --aws-retry-mode, timeouts, --sources, --env-files): settings, or exit 2 naming the flag', () => {
    const dir = tempDir()
    const flags = ['awsMaxAttempts', 'awsRetryMode', 'awsConnectTimeoutMs', 'awsRequestTimeoutMs', 'awsTotalTimeoutMs', 'sources', 'envFiles', 'awsRegion', 'awsPrefix'] as const
    const value = fc.oneof(
      fc.string({unit: 'grapheme'}),
      fc.constantFrom('0', '-1', '1e3', '3.5', '99999999999999999999', 'NaN', 'standard', 'adaptive', 'env,aws', 'env,,aws', 'vault', ' env ', '1', '30000'),
      fc.array(fc.string({maxLength: 5}), {maxLength: 3}),
    )
    try {
      fc.assert(
        fc.property(fc.constantFrom(...flags), value, (flag, raw) => {
          try {
            resolveSettings({cwd: dir.path, env: {KEYFLOW_HOME: join(dir.path, 'home'), KEYFLOW_PROJECT_FILE: ''}, flags: {[flag]: raw}})
          } catch (error) {
            const failure = expectClearFailure(error, [ExitCode.USAGE])
            expect(failure.where ?? '').to.match(/^flag --/)
          }
        }),
        runs(2000),
      )
    } finally {
      dir.cleanup()
    }
  })
})
