/* eslint-disable camelcase -- dotenv names as users write them */
import {expect} from 'chai'
import {parse} from 'dotenv'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {KeyflowError} from '../../src/lib/errors.js'
import {deleteSecret, writeSecret} from '../../src/lib/library.js'
import {removeEntry, setEntry} from '../../src/lib/secret/write/dotenv-edit.js'
import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'

/**
 * Writing dotenv files: one entry changes and every other byte stays; every value dotenv.parse
 * can tell apart reads back as written; unsafe files are refused with nothing written.
 */

/** Values that dotenv.parse distinguishes: quotes of each kind, newlines, #, =, spaces, empty, backslashes. */
const VALUES: Record<string, string> = {
  backslashEnd: String.raw`ends with \ `.trim(),
  backtick: 'has `backtick`',
  bothQuotes: `it's "quoted"`,
  crlf: 'line1\r\nline2',
  doubleQuote: 'say "hi"',
  empty: '',
  equals: 'a=b=c',
  escapedN: String.raw`literal \n not a newline`,
  hash: 'pass#word # not a comment',
  leadingSpace: '  padded  ',
  multiline: 'first\nsecond\nthird',
  plain: 'hunter2',
  singleQuote: "it's",
  spaces: 'two words',
  unicode: 'pässwörd ✓',
}

async function expectError(promise: Promise<unknown>, code: string, exit: number): Promise<KeyflowError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(KeyflowError)
    expect((error as KeyflowError).code).to.equal(code)
    expect((error as KeyflowError).exit).to.equal(exit)
    return error as KeyflowError
  }

  throw new Error(`expected ${code}`)
}

describe('secret set / rm on dotenv files', () => {
  let dir: ReturnType<typeof tempDir>
  let file: string
  const options = () => ({cwd: dir.path, env: baseEnv(dir.path), settings: {secretsWriteTo: `dotenv=${file}`}})

  beforeEach(() => {
    dir = tempDir()
    file = join(dir.path, '.env')
  })

  afterEach(() => dir.cleanup())

  describe('text edits', () => {
    const original = '# database\nexport DB_HOST=db.internal # primary\n\nDB_PASSWORD="old"\nAPI_KEY=abc\n'

    it('replaces one entry and keeps every other byte, its export and its comment', () => {
      expect(setEntry(original, 'DB_HOST', 'db2')).to.equal('# database\nexport DB_HOST=db2 # primary\n\nDB_PASSWORD="old"\nAPI_KEY=abc\n')
      expect(setEntry(original, 'DB_PASSWORD', 'new')).to.equal('# database\nexport DB_HOST=db.internal # primary\n\nDB_PASSWORD=new\nAPI_KEY=abc\n')
    })

    it('appends a new name, adding the missing line end first, in the file\'s own line ends', () => {
      expect(setEntry('A=1', 'B', '2')).to.equal('A=1\nB=2\n')
      expect(setEntry('A=1\r\nC=3\r\n', 'B', '2')).to.equal('A=1\r\nC=3\r\nB=2\r\n')
      expect(setEntry('', 'B', '2')).to.equal('B=2\n')
    })

    it('replaces the line dotenv reads (the last) and removes every line of a name', () => {
      const twice = 'A=1\nB=x\nA=2\n'
      expect(parse(setEntry(twice, 'A', '3')).A).to.equal('3')
      expect(setEntry(twice, 'A', '3')).to.equal('A=1\nB=x\nA=3\n')
      expect(removeEntry(twice, 'A')).to.deep.equal({removed: 2, text: 'B=x\n'})
    })

    it('replaces a value that spans lines as a whole', () => {
      const text = "KEY='-----BEGIN\nabc\n-----END'\nNEXT=1\n"
      expect(setEntry(text, 'KEY', 'short')).to.equal('KEY=short\nNEXT=1\n')
    })

    for (const [label, value] of Object.entries(VALUES)) {
      it(`writes a value that dotenv.parse reads back: ${label}`, () => {
        const text = setEntry('OTHER=keep # c\n', 'NAME', value)
        const parsed = parse(text)
        expect(parsed.NAME).to.equal(value)
        expect(parsed.OTHER).to.equal('keep')
      })
    }
  })

  describe('files', () => {
    it('round-trips every quoting case through set and the chain, keeping the file 0600', async () => {
      writeFileSync(file, '# keep me\nOTHER=1\n', {mode: 0o600})
      for (const [label, value] of Object.entries(VALUES)) {
        // eslint-disable-next-line no-await-in-loop
        await writeSecret(`V_${label}`, value, options())
      }

      const text = readFileSync(file, 'utf8')
      expect(text.startsWith('# keep me\nOTHER=1\n')).to.equal(true)
      const parsed = parse(text)
      for (const [label, value] of Object.entries(VALUES)) expect(parsed[`V_${label}`], label).to.equal(value)
      // eslint-disable-next-line no-bitwise
      expect(statSync(file).mode & 0o777).to.equal(0o600)
      const env = {...baseEnv(dir.path), KEYFLOW_ENV_FILES: file}
      const read = await runCli(['secret', 'get', 'V_multiline', 'V_hash', 'V_leadingSpace', '--format', 'json'], {env})
      expect(read.code).to.equal(0)
      expect(JSON.parse(read.stdout)).to.deep.equal({V_hash: VALUES.hash, V_leadingSpace: VALUES.leadingSpace, V_multiline: VALUES.multiline})
    })

    it('keeps a BOM and CRLF line ends, and reports the line', async () => {
      writeFileSync(file, '\uFEFFA=1\r\nB=2\r\n', {mode: 0o600})
      const result = await writeSecret('B', 'two words', options())
      expect(result).to.include({file, line: 2, name: 'B', status: 'updated', target: 'dotenv'})
      expect(readFileSync(file, 'utf8')).to.equal("\uFEFFA=1\r\nB='two words'\r\n")
    })

    it('sets one key of a JSON value and keeps the others', async () => {
      writeFileSync(file, `DB='{"user":"app","password":"old"}'\n`, {mode: 0o600})
      await writeSecret('DB#password', 'new', options())
      await writeSecret('DB#replica.host', 'r1', options())
      expect(JSON.parse(parse(readFileSync(file, 'utf8')).DB)).to.deep.equal({password: 'new', replica: {host: 'r1'}, user: 'app'})
      writeFileSync(file, 'PLAIN=text\n', {mode: 0o600})
      await expectError(writeSecret('PLAIN#key', 'x', options()), 'SECRET_NOT_JSON', 5)
      expect(readFileSync(file, 'utf8')).to.equal('PLAIN=text\n')
    })

    it('creates the default file 0600 in a 0700 $KEYFLOW_HOME', async () => {
      const env = baseEnv(dir.path)
      const result = await writeSecret('TOKEN', 'value', {cwd: dir.path, env})
      expect(result.file).to.equal(join(env.KEYFLOW_HOME, 'secrets.env'))
      // eslint-disable-next-line no-bitwise
      expect(statSync(env.KEYFLOW_HOME).mode & 0o777).to.equal(0o700)
      // eslint-disable-next-line no-bitwise
      expect(statSync(result.file!).mode & 0o777).to.equal(0o600)
    })

    it('removes a name (every line of it) and reports one that is not there', async () => {
      writeFileSync(file, '# c\nA=1\nB=2\nA=3\n', {mode: 0o600})
      expect(await deleteSecret('A', options())).to.include({removed: 2, target: 'dotenv'})
      expect(readFileSync(file, 'utf8')).to.equal('# c\nB=2\n')
      await expectError(deleteSecret('A', options()), 'SECRET_NOT_FOUND', 3)
    })

    it('refuses a value dotenv syntax cannot hold, writing nothing', async () => {
      writeFileSync(file, 'A=1\n', {mode: 0o600})
      await expectError(writeSecret('B', `'"\`\n\\`, options()), 'VALUE_NOT_REPRESENTABLE', 5)
      expect(readFileSync(file, 'utf8')).to.equal('A=1\n')
    })

    it('refuses a malformed file, naming the line, writing nothing', async () => {
      writeFileSync(file, 'A=1\nDB_PASSWORD hunter2\n', {mode: 0o600})
      const error = await expectError(writeSecret('B', 'x', options()), 'ENV_FILE_MALFORMED', 4)
      expect(error.where).to.equal(`${file}:2`)
      expect(readFileSync(file, 'utf8')).to.equal('A=1\nDB_PASSWORD hunter2\n')
    })

    it('refuses a symlink, leaving it and its target alone', async () => {
      const target = join(dir.path, 'elsewhere.env')
      writeFileSync(target, 'A=1\n', {mode: 0o600})
      symlinkSync(target, file)
      await expectError(writeSecret('B', 'x', options()), 'FILE_UNTRUSTED', 8)
      expect(readFileSync(target, 'utf8')).to.equal('A=1\n')
    })

    it('refuses a file another user owns, and one group or others can write', async function () {
      writeFileSync(file, 'A=1\n', {mode: 0o600})
      chmodSync(file, 0o620)
      await expectError(writeSecret('B', 'x', options()), 'FILE_UNTRUSTED', 8)
      chmodSync(file, 0o600)
      if (process.getuid?.() !== 0) this.skip()
      chownSync(file, 65_534, 65_534)
      await expectError(writeSecret('B', 'x', options()), 'FILE_UNTRUSTED', 8)
      expect(readFileSync(file, 'utf8')).to.equal('A=1\n')
    })

    it('refuses a directory everyone can write (such as /tmp)', async () => {
      const open = join(dir.path, 'shared')
      mkdirSync(open)
      chmodSync(open, 0o1777)
      file = join(open, '.env')
      await expectError(writeSecret('B', 'x', options()), 'DIRECTORY_UNTRUSTED', 8)
      expect(readdirSync(open)).to.deep.equal([])
    })

    it('makes a file others could read private, with a warning that names no value', async () => {
      writeFileSync(file, 'A=1\n', {mode: 0o644})
      chmodSync(file, 0o644)
      const value = canary('dotenv')
      const env = {...baseEnv(dir.path)}
      const result = await runCli(['secret', 'set', 'B', '--to', `dotenv=${file}`], {env, input: value})
      expect(result.code).to.equal(0)
      expect(result.stderr).to.match(/readable by others.*now 0600/)
      assertNoCanary(result.stdout + result.stderr, [value], 'output')
      // eslint-disable-next-line no-bitwise
      expect(statSync(file).mode & 0o777).to.equal(0o600)
    })

    it('says when the chain would answer a bare NAME from another place than the one written', async () => {
      writeFileSync(join(dir.path, '.env'), '# project\nDB_PASSWORD=old\n', {mode: 0o600})
      const env = baseEnv(dir.path)
      const shadowed = await runCli(['secret', 'set', 'DB_PASSWORD', '--json'], {cwd: dir.path, env, input: 'new'})
      expect(shadowed.code).to.equal(0)
      expect(JSON.parse(shadowed.stdout).shadowedBy).to.equal(`dotenv ${join(dir.path, '.env')}:2`)
      expect(shadowed.stderr).to.match(/the chain answers it from dotenv .*\.env:2/)
      const byEnv = await runCli(['secret', 'set', 'API_TOKEN', '--json', '--to', `dotenv=${join(dir.path, '.env')}`], {cwd: dir.path, env: {...env, API_TOKEN: 'set'}, input: 'new'})
      expect(JSON.parse(byEnv.stdout).shadowedBy).to.equal('env $API_TOKEN')
      const unread = await runCli(['secret', 'set', 'OTHER', '--json', '--to', `dotenv=${join(dir.path, 'other.env')}`], {cwd: dir.path, env, input: 'v'})
      expect(JSON.parse(unread.stdout).shadowedBy).to.match(/^no source: the chain does not read .*other\.env/)
      const clean = await runCli(['secret', 'set', 'FRESH', '--json'], {cwd: dir.path, env, input: 'v'})
      expect(JSON.parse(clean.stdout).shadowedBy).to.equal(undefined)
      expect(clean.stderr).to.equal('')
    })

    it('loses no update when many processes set different names at once', async () => {
      writeFileSync(file, '# shared\n', {mode: 0o600})
      const env = baseEnv(dir.path)
      const results = await Promise.all(
        Array.from({length: 12}, async (_, i) => runCli(['secret', 'set', `K${i}`, '--to', `dotenv=${file}`], {env, input: `v${i}`})),
      )
      expect(results.map(({code}) => code)).to.deep.equal(Array.from({length: 12}, () => 0))
      const parsed = parse(readFileSync(file, 'utf8'))
      expect(parsed).to.deep.equal(Object.fromEntries(Array.from({length: 12}, (_, i) => [`K${i}`, `v${i}`])))
      // No temporary or lock file is left behind.
      expect(readdirSync(dir.path).filter((name) => name !== '.env' && name !== '.keyflow')).to.deep.equal([])
    })
  })
})
