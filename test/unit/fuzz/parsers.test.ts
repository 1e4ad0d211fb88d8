import {Flags, Parser} from '@oclif/core'
import {expect} from 'chai'
import * as fc from 'fast-check'
import {after, before, describe, it} from 'mocha'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import Run from '../../../src/commands/run.js'
import SecretGet from '../../../src/commands/secret/get.js'
import {parseArgv} from '../../../src/fast-path.js'
import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {resolveSettings, SETTINGS} from '../../../src/lib/invocation.js'
import {parseAliasedReference, parseReference} from '../../../src/lib/secret/reference.js'
import {ROOT, tempDir} from '../../support/cli.js'

/**
 * Every parser keyflow owns either parses or throws a KeyflowError with a documented exit
 * code: never another exception. Run counts are kept moderate so `npm test` stays quick;
 * FC_RUNS raises them for a longer soak (e.g. FC_RUNS=100000).
 */
const runs = (count: number) => ({numRuns: Number(process.env.FC_RUNS ?? count)})

function expectClearFailure(error: unknown, exits: number[]): KeyflowError {
  expect(error, 'a KeyflowError, not another exception').to.be.instanceOf(KeyflowError)
  const keyflowError = error as KeyflowError
  expect(exits).to.include(keyflowError.exit)
  expect(keyflowError.message).to.not.match(/\n\s+at /)
  return keyflowError
}

/** Strings made of the characters the reference grammar cares about, and some others. */
const referenceish = fc.string({
  maxLength: 60,
  unit: fc.oneof(
    {arbitrary: fc.constantFrom(...'#?&=%/.:~-_ aA0'), weight: 4},
    {arbitrary: fc.constantFrom('aws-sm://', 'env://', 'dotenv://', 'context://', 'arn:aws:', 'x://', 'stage=', 'version-id=', '%2', '%zz', '~1', 'constructor://', '__proto__', 'toString'), weight: 2},
    {arbitrary: fc.string({maxLength: 1, minLength: 1, unit: 'binary'}), weight: 1},
  ),
})

/** What oclif's own parser makes of argv with the command's flags (and BaseCommand's --json), or the error. */
async function oclifParse(flags: Record<string, unknown>, argv: string[]): Promise<Error | {argv: string[]; flags: Record<string, unknown>}> {
  try {
    const parsed = await Parser.parse(argv, {flags: {...(flags as Record<string, never>), json: Flags.boolean()}, strict: false})
    return {argv: parsed.argv as string[], flags: parsed.flags}
  } catch (error) {
    return error as Error
  }
}

describe('property: parsers never throw anything but a clear KeyflowError', () => {
  describe('references', () => {
    for (const [what, arbitrary, count] of [
      ['arbitrary strings', fc.string({unit: 'binary'}), 3000],
      ['grammar-shaped strings', referenceish, 5000],
    ] as const) {
      it(`${what}: parse, or exit 2 with a caret inside the text`, () => {
        fc.assert(
          fc.property(arbitrary, (text) => {
            let parsed
            try {
              parsed = parseReference(text)
            } catch (error) {
              const {details} = expectClearFailure(error, [ExitCode.USAGE])
              expect(details[0]).to.equal(text)
              const caret = /^( *)\^+$/.exec(details[1])
              expect(caret).to.not.equal(null)
              // At most one past the end: where a missing name or key belongs.
              expect(caret![1].length).to.be.at.most(text.length)
              return
            }

            expect(parsed.text).to.equal(text)
            expect(['aws', 'chain', 'context', 'dotenv', 'env']).to.include(parsed.target.kind)
          }),
          runs(count),
        )
      })
    }

    it('aliased references behave the same', () => {
      fc.assert(
        fc.property(referenceish, (text) => {
          try {
            parseAliasedReference(text)
          } catch (error) {
            expectClearFailure(error, [ExitCode.USAGE])
          }
        }),
        runs(2000),
      )
    })

    it('plain names round-trip, whatever they hold besides # ? % and whitespace', () => {
      const name = fc.string({
        maxLength: 80,
        minLength: 1,
        unit: fc.constantFrom(...'abcXYZ019_-./@+=', '\u00E9', '\u{1F511}'),
      })
      fc.assert(
        fc.property(name, (text) => {
          fc.pre(!/^[a-z][\d+.a-z-]*:\/\//i.test(text) && !text.startsWith('arn:'))
          expect(parseReference(text).target).to.deep.equal({kind: 'chain', name: text})
        }),
        runs(2000),
      )
    })

    it('escaped names decode to what was escaped', () => {
      fc.assert(
        fc.property(fc.string({maxLength: 50, minLength: 1, unit: 'grapheme'}), (name) => {
          const reference = parseReference('env://' + encodeURIComponent(name))
          expect(reference.target).to.deep.equal({kind: 'env', name})
        }),
        runs(2000),
      )
    })
  })

  describe('settings and config files', () => {
    let dir: ReturnType<typeof tempDir>

    before(() => {
      dir = tempDir()
    })

    after(() => dir.cleanup())

    const settingsFrom = (env: Record<string, string>) => {
      try {
        return resolveSettings({cwd: dir.path, env: {KEYFLOW_HOME: join(dir.path, 'home'), ...env}})
      } catch (error) {
        return expectClearFailure(error, [ExitCode.USAGE, ExitCode.INTEGRITY, ExitCode.NOT_FOUND])
      }
    }

    /** Config-shaped JSON: known keys with values of any JSON type, unknown keys now and then. */
    const configShaped = fc.dictionary(
      fc.oneof(fc.constantFrom('aws', 'sources', 'envFiles', 'run', 'blocks', '$schema', '__proto__', 'constructor'), fc.string()),
      fc.oneof(
        fc.jsonValue(),
        fc.dictionary(
          fc.constantFrom('region', 'profile', 'prefix', 'maxAttempts', 'retryMode', 'connectTimeoutMs', 'requestTimeoutMs', 'toString'),
          fc.jsonValue(),
        ),
        fc.array(fc.constantFrom('env', 'aws', 'dotenv', 'context', 'vault', '')),
      ),
    )

    it('any JSON document as keyflow.json: settings, or exit 2', () => {
      const file = join(dir.path, 'keyflow.json')
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), configShaped), (document) => {
          writeFileSync(file, JSON.stringify(document))
          settingsFrom({KEYFLOW_PROJECT_FILE: file})
        }),
        runs(1500),
      )
    })

    it('any text as keyflow.json: settings, or exit 2/8 that never quotes the text', () => {
      const file = join(dir.path, 'text.json')
      const text = fc.oneof(fc.string({unit: 'binary'}), fc.json().map((json) => json.slice(0, Math.max(0, json.length - 1))))
      fc.assert(
        fc.property(text, (content) => {
          writeFileSync(file, content)
          const result = settingsFrom({KEYFLOW_PROJECT_FILE: file})
          // Long enough not to occur in the message by chance.
          if (result instanceof KeyflowError && result.code === 'MALFORMED_JSON' && content.trim().length > 12) {
            expect(JSON.stringify(result.toJSON()).includes(content.trim())).to.equal(false)
          }
        }),
        runs(1500),
      )
    })

    it('any value in the KEYFLOW_* variables: settings, or exit 2 naming the variable', () => {
      const variables = [
        'KEYFLOW_AWS_MAX_ATTEMPTS',
        'KEYFLOW_AWS_CONNECT_TIMEOUT_MS',
        'KEYFLOW_AWS_REQUEST_TIMEOUT_MS',
        'KEYFLOW_AWS_RETRY_MODE',
        'KEYFLOW_SOURCES',
        'KEYFLOW_ENV_FILES',
        'KEYFLOW_AWS_PREFIX',
      ]
      fc.assert(
        fc.property(fc.constantFrom(...variables), fc.string({unit: 'grapheme'}), (variable, value) => {
          const result = settingsFrom({KEYFLOW_PROJECT_FILE: '', [variable]: value})
          if (result instanceof KeyflowError) expect(result.where).to.equal(`env ${variable}`)
        }),
        runs(3000),
      )
    })
  })

  describe('the fast-path argv parser', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    const command = manifest.commands['secret:get']
    const flagNames: string[] = Object.keys(command.flags)
    const integerFlags = new Set(Object.values(SETTINGS).filter((spec) => spec.parse.flag.type === 'integer').map((spec) => spec.flag))
    const token = fc.oneof(
      {arbitrary: fc.constantFrom(...flagNames.map((name) => `--${name}`), '--no-newline', '--json', '--', '-', '-f', '-fjson'), weight: 3},
      {arbitrary: fc.constantFrom('json', 'env', 'shell', 'yaml', '1', '5', '0', 'ten', 'DB', 'a=b', '--no-base64', '--format=env', '-x', 'standard'), weight: 3},
      {arbitrary: fc.string({maxLength: 12}), weight: 2},
      {arbitrary: fc.string({maxLength: 6}).map((text) => `--${text}`), weight: 1},
    )

    /** The fast path may serve argv only as oclif would: same arguments, same flags (integers are checked later, by the settings). */
    async function expectSameAsOclif(flags: Record<string, unknown>, fast: {argv: string[]; flags: Record<string, unknown>}, argv: string[], rest: string[]) {
      const oclif = await oclifParse(flags, argv)
      if (oclif instanceof Error) {
        // The one known difference: the manifest does not say a flag is an integer, so the fast path hands
        // "--aws-max-attempts ten" to the settings, which refuse it with exit 2 (test/cli/exit-codes.test.ts).
        expect([...integerFlags].some((name) => argv.includes(`--${name}`) || argv.some((item) => item.startsWith(`--${name}=`))), oclif.message).to.equal(true)
        return
      }

      expect(fast.argv).to.deep.equal([...oclif.argv, ...rest])
      // oclif's manifest does not carry boolean defaults (--newline's true): the lib functions read a missing one as its default.
  const booleanDefault = (name: string, value: unknown) => !(name in fast.flags) && (flags[name] as {default?: unknown; type?: string})?.type === 'boolean' && (flags[name] as {default?: unknown}).default === value
  const normalized = Object.fromEntries(
    Object.entries(oclif.flags)
      .filter(([name, value]) => !booleanDefault(name, value))
      .map(([name, value]) => [name, integerFlags.has(name) ? String(value) : value]),
  )
      const fastFlags = Object.fromEntries(Object.entries(fast.flags).map(([name, value]) => [name, integerFlags.has(name) ? String(value) : value]))
      expect(fastFlags).to.deep.equal(normalized)
    }

    it('secret get: whenever the fast path parses argv, oclif parses it to the same arguments and flags', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(token, {maxLength: 10}), async (argv) => {
          const fast = parseArgv(command, argv)
          if (fast !== undefined) await expectSameAsOclif(SecretGet.flags, fast, argv, [])
        }),
        runs(3000),
      )
    })

    it('run: whenever the fast path parses argv, oclif parses the part before -- to the same flags', async () => {
      const {run} = manifest.commands
      const runToken = fc.oneof(
        {arbitrary: fc.constantFrom(...Object.keys(run.flags).map((name) => `--${name}`), '--no-pristine', '--json', '--', '-x'), weight: 3},
        {arbitrary: fc.constantFrom('always', 'never', 'auto', 'both', 'plain', 'DB', 'a=b', 'true', '5', 'ten', '--mask=never'), weight: 3},
        {arbitrary: fc.string({maxLength: 8}), weight: 1},
      )
      await fc.assert(
        fc.asyncProperty(fc.array(runToken, {maxLength: 10}), async (argv) => {
          const fast = parseArgv(run, argv)
          if (fast === undefined) return
          const dashes = argv.indexOf('--')
          expect(dashes).to.not.equal(-1)
          await expectSameAsOclif(Run.flags, fast, argv.slice(0, dashes), argv.slice(dashes + 1))
        }),
        runs(3000),
      )
    })

    it('fully random argv never throws', () => {
      fc.assert(
        fc.property(fc.array(fc.string({unit: 'binary'}), {maxLength: 8}), (argv) => {
          parseArgv(command, argv)
        }),
        runs(3000),
      )
    })
  })
})
