import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import fs, {mkdirSync, writeFileSync} from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {join} from 'node:path'

import {ExitCode} from '../../../src/lib/errors.js'
import {resolveSettings} from '../../../src/lib/invocation.js'
import {LookupRequest, Outcome} from '../../../src/lib/secret/source.js'
import {contextSource} from '../../../src/lib/secret/sources/context-env.js'
import {dotenvSource} from '../../../src/lib/secret/sources/dotenv.js'
import {envSource} from '../../../src/lib/secret/sources/env.js'
import {assertNoCanary, canary} from '../../support/canary.js'
import {tempDir} from '../../support/cli.js'

const ask = (...names: string[]): LookupRequest[] => names.map((name) => ({direct: false, name}))

function expectHit(outcome: Outcome): Extract<Outcome, {kind: 'hit'}> {
  expect(outcome.kind).to.equal('hit')
  return outcome as Extract<Outcome, {kind: 'hit'}>
}

function expectKind<K extends Outcome['kind']>(outcome: Outcome, kind: K): Extract<Outcome, {kind: K}> {
  expect(outcome.kind).to.equal(kind)
  return outcome as Extract<Outcome, {kind: K}>
}

describe('sources', () => {
  describe('env', () => {
    it('hits a set variable, empty included, and misses an unset one with a hint', async () => {
      const value = canary()
      const env = {'a.b-c/d': 'odd', EMPTY: '', TOKEN: value}
      const [token, empty, odd, unset] = await envSource(env).lookup(ask('TOKEN', 'EMPTY', 'a.b-c/d', 'UNSET'))
      expect(expectHit(token).value === value).to.equal(true)
      expect(expectHit(token).provenance).to.deep.equal({source: 'env', variable: 'TOKEN'})
      expect(expectHit(empty).value).to.equal('')
      expect(expectHit(odd).value).to.equal('odd')
      expect(expectKind(unset, 'miss')).to.deep.equal({hint: 'export UNSET=...', kind: 'miss', reason: '$UNSET is not set'})
    })

    it('names of Object.prototype members are misses, in process.env too', async () => {
      for (const env of [process.env, {}]) {
        // eslint-disable-next-line no-await-in-loop
        const outcomes = await envSource(env).lookup(ask('constructor', 'toString', '__proto__', 'hasOwnProperty'))
        expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(['miss', 'miss', 'miss', 'miss'])
        // eslint-disable-next-line no-await-in-loop
        const context = await contextSource({...env}).lookup(ask('constructor'))
        expect(context[0].kind).to.equal('miss')
      }
    })
  })

  describe('context (Prefect 1 context secrets)', () => {
    it('reads PREFECT__CONTEXT__SECRETS__NAME keeping the name case, and the lowercase spelling', async () => {
      const env = {'PREFECT__CONTEXT__SECRETS__MyKey': 'upper', 'PREFECT__context__secrets__other': 'lower'}
      const [mine, other, wrongCase] = await contextSource(env).lookup(ask('MyKey', 'other', 'mykey'))
      expect(expectHit(mine).provenance).to.deep.equal({source: 'context', variable: 'PREFECT__CONTEXT__SECRETS__MyKey'})
      expect(expectHit(other).value).to.equal('lower')
      expect(expectKind(wrongCase, 'miss').hint).to.equal('export PREFECT__CONTEXT__SECRETS__mykey=...')
    })

    it('prefers the upper-case spelling when both are set', async () => {
      const env = {'PREFECT__CONTEXT__SECRETS__K': 'upper', 'PREFECT__context__secrets__K': 'lower'}
      const [outcome] = await contextSource(env).lookup(ask('K'))
      expect(expectHit(outcome).value).to.equal('upper')
    })
  })

  describe('dotenv', () => {
    let dir: ReturnType<typeof tempDir>
    let home: string

    beforeEach(() => {
      dir = tempDir()
      home = join(dir.path, 'home')
      mkdirSync(home)
    })

    afterEach(() => dir.cleanup())

    const source = (envFiles?: string[]) =>
      dotenvSource(
        resolveSettings({
          cwd: dir.path,
          env: {KEYFLOW_HOME: home, KEYFLOW_PROJECT_FILE: ''},
          flags: envFiles ? {envFiles} : {},
        }),
      )

    it('reads ./.env, then $KEYFLOW_HOME/secrets.env; the first file holding the name wins', async () => {
      writeFileSync(join(dir.path, '.env'), 'A=from-project\n')
      writeFileSync(join(home, 'secrets.env'), 'A=from-home\nB=only-home\n')
      const [a, b, c] = await source().lookup(ask('A', 'B', 'C'))
      expect(expectHit(a).value).to.equal('from-project')
      expect(expectHit(a).provenance).to.deep.equal({file: join(dir.path, '.env'), line: 1, source: 'dotenv'})
      expect(expectHit(b).provenance).to.deep.equal({file: join(home, 'secrets.env'), line: 2, source: 'dotenv'})
      const miss = expectKind(c, 'miss')
      expect(miss.reason).to.equal(`not in ${join(dir.path, '.env')}, ${join(home, 'secrets.env')}`)
      // The hint names the file already in use (./.env here), not one keyflow would create.
      expect(miss.hint).to.equal(`add C=... to ${join(dir.path, '.env')}`)
    })

    it('treats missing default files as a miss', async () => {
      const [outcome] = await source().lookup(ask('A'))
      expect(expectKind(outcome, 'miss').reason).to.contain('(no such file)')
    })

    it('fails (exit 4) on a missing --env-file, an unreadable one, or invalid UTF-8, naming the file', async () => {
      const cases: Array<[string, string]> = [
        [join(dir.path, 'absent.env'), 'ENV_FILE_NOT_FOUND'],
        [dir.path, 'ENV_FILE_UNREADABLE'],
        [join(dir.path, 'latin1.env'), 'ENV_FILE_MALFORMED'],
      ]
      writeFileSync(join(dir.path, 'latin1.env'), Buffer.from([0x41, 0x3d, 0xe9, 0xff, 0x0a]))
      for (const [path, code] of cases) {
        // eslint-disable-next-line no-await-in-loop
        const [outcome] = await source([path]).lookup(ask('A'))
        const {error} = expectKind(outcome, 'failure')
        expect(error.code).to.equal(code)
        expect(error.exit).to.equal(ExitCode.SOURCE_FAILURE)
        expect(error.where).to.equal(path)
      }
    })

    it('reads files named by --env-file in order, relative paths from the working directory', async () => {
      writeFileSync(join(dir.path, 'one.env'), 'A=one\n')
      writeFileSync(join(dir.path, 'two.env'), 'A=two\nB=two\n')
      const [a, b] = await source(['two.env', 'one.env']).lookup(ask('A', 'B'))
      expect(expectHit(a).value).to.equal('two')
      expect(expectHit(b).provenance).to.include({file: join(dir.path, 'two.env'), line: 2})
    })

    it('drops a BOM, reads CRLF files, export prefixes, quotes, = and newlines in values', async () => {
      const secret = canary()
      const text = [
        '\uFEFFFIRST=1',
        'export EXPORTED=yes',
        `EQUALS=a=b==c`,
        `QUOTED='has # hash'`,
        `MULTI="line1\\nline2"`,
        `BLOCK='x`,
        `y'`,
        'EMPTY=',
        'dotted.name-x=dots',
        `TOKEN=${secret}`,
        'DUP=first',
        'DUP=last',
        '',
      ].join('\r\n')
      writeFileSync(join(dir.path, '.env'), text)
      const names = ['FIRST', 'EXPORTED', 'EQUALS', 'QUOTED', 'MULTI', 'BLOCK', 'EMPTY', 'dotted.name-x', 'TOKEN', 'DUP']
      const outcomes = await source().lookup(ask(...names))
      const values = outcomes.map((outcome) => expectHit(outcome).value)
      expect(values.slice(0, 8)).to.deep.equal(['1', 'yes', 'a=b==c', 'has # hash', 'line1\nline2', 'x\ny', '', 'dots'])
      expect(values[8] === secret).to.equal(true)
      expect(values[9]).to.equal('last')
      expect(expectHit(outcomes[0]).provenance).to.include({line: 1})
      expect(expectHit(outcomes[1]).provenance).to.include({line: 2})
      expect(expectHit(outcomes[9]).provenance).to.include({line: 12})
      const misses = await source().lookup(ask('NOPE'))
      assertNoCanary(JSON.stringify(misses), [secret], 'a miss')
    })

    it('reads a file once however many names are asked', async () => {
      const file = join(dir.path, '.env')
      writeFileSync(file, Array.from({length: 3000}, (_, index) => `K${index}=v${index}`).join('\n'))
      // Node's own fs, counted: the trusted-file reader's `import {openSync} from 'node:fs'` sees the
      // counter. A file is opened once and read through that descriptor, so opens count reads.
      const original = fs.openSync
      let reads = 0
      fs.openSync = ((path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
        if (path === file) reads++
        return original(path, flags ?? 'r', mode)
      }) as typeof fs.openSync
      syncBuiltinESMExports()
      try {
        const dotenv = source()
        const outcomes = await dotenv.lookup(ask(...Array.from({length: 3000}, (_, index) => `K${index}`)))
        expect(outcomes.every((outcome, index) => outcome.kind === 'hit' && outcome.value === `v${index}`)).to.equal(true)
        await dotenv.lookup(ask('K1', 'MISSING'))
        expect(reads).to.equal(1)
      } finally {
        fs.openSync = original
        syncBuiltinESMExports()
      }
    })
  })
})
