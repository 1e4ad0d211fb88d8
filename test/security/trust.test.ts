/// <reference types="mocha" />
/* eslint-disable camelcase -- block field names are snake_case, as in Prefect */
import {expect} from 'chai'
import {chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, CliResult, ROOT, runCli} from '../support/cli.js'
import {asOther, OTHER, sharedArea} from '../support/other-user.js'

/**
 * Trust boundaries against another local user (issue 10, holes 1, 2, 4 and 6): every
 * attacker step runs as a real other uid (setpriv), and every check asserts that the
 * attacker's file never decides anything, with exit 8 and a fix where keyflow refuses.
 */

const SWAP = join(ROOT, 'test', 'support', 'swap-after-check.mjs')

// A warning line may come before the JSON error.
const errorOf = (result: CliResult) => JSON.parse(result.stderr.slice(result.stderr.indexOf('{'))).error as {code: string; exit: number; fix?: string; message: string; where?: string}

describe('trust boundaries against another user', () => {
  let area: ReturnType<typeof sharedArea>
  let env: Record<string, string>
  const kf = (args: string[], options: {cwd?: string; env?: Record<string, string>; input?: string} = {}) =>
    runCli(args, {cwd: options.cwd ?? area.root, env: {...env, ...options.env}, input: options.input})
  const connectorFile = () => join(env.KEYFLOW_HOME, 'blocks', 'documents', 'snowflake-connector', 'prod.json')

  beforeEach(() => {
    area = sharedArea()
    env = baseEnv(area.root)
  })

  afterEach(() => area.cleanup())

  describe('hole 1: config files are opened once, checked by descriptor, and read through it', () => {
    it("a keyflow.json that is the other user's symbolic link to the victim's own file is refused, not followed", async () => {
      const victimFile = join(area.root, 'victim-keyflow.json')
      writeFileSync(victimFile, '{"sources": ["env"]}')
      asOther(`ln -s '${victimFile}' '${area.attacker}/keyflow.json'`)
      const found = await runCli(['secret', 'get', 'TOKEN', '--json'], {cwd: area.attacker, env: {...env, KEYFLOW_PROJECT_FILE: undefined, TOKEN: 'x'}})
      expect(found.code, found.stderr).to.equal(8)
      expect(errorOf(found)).to.include({code: 'UNTRUSTED_PATH', where: join(area.attacker, 'keyflow.json')})
      expect(errorOf(found).message).to.contain('symbolic link')
    })

    it('a keyflow.json swapped for the attacker\'s right after keyflow checked it: keyflow reads the file it checked', async () => {
      const project = join(area.attacker, 'keyflow.json')
      // The victim's own file, in a directory the attacker owns (a shared build directory).
      asOther(`chmod 777 '${area.attacker}'`)
      writeFileSync(project, '{"sources": ["env"]}')
      const evil = join(area.attacker, 'evil.json')
      asOther(`printf '%s' '{"sources": ["context"]}' > '${evil}'`)
      const result = await kf(['secret', 'get', 'TOKEN'], {
        env: {KEYFLOW_PROJECT_FILE: project, NODE_OPTIONS: `--import ${SWAP}`, SWAP_SOURCE: evil, SWAP_TARGET: project, TOKEN: 'victim-value'},
      })
      // The swap happened (the attacker's file is now at the path) ...
      expect(readFileSync(project, 'utf8')).to.contain('context')
      // ... yet the settings came from the file keyflow checked: sources ["env"] found TOKEN.
      expect(result.code, result.stderr).to.equal(0)
      expect(result.stdout).to.equal('victim-value\n')
    })

    it('a .env in the working directory owned by another user is refused (exit 8), not used over the real source', async () => {
      asOther(`printf 'TOKEN=attacker\\n' > '${area.attacker}/.env'`)
      const result = await kf(['secret', 'get', 'TOKEN', '--sources', 'dotenv', '--json'], {cwd: area.attacker})
      expect(result.code, result.stderr).to.equal(8)
      expect(result.stdout).to.equal('')
      expect(errorOf(result)).to.include({code: 'UNTRUSTED_PATH', where: join(area.attacker, '.env')})
    })

    it('a .env that is a symbolic link the other user owns is refused; one the user owns is followed', async () => {
      const real = join(area.root, 'shared.env')
      writeFileSync(real, 'TOKEN=mine\n')
      asOther(`ln -s '${real}' '${area.attacker}/.env'`)
      const planted = await kf(['secret', 'get', 'TOKEN', '--sources', 'dotenv', '--json'], {cwd: area.attacker})
      expect(planted.code, planted.stderr).to.equal(8)
      expect(errorOf(planted).message).to.contain('symbolic link owned by another user')
      const mine = join(area.root, 'app')
      mkdirSync(mine)
      symlinkSync(real, join(mine, '.env'))
      const followed = await kf(['secret', 'get', 'TOKEN', '--sources', 'dotenv'], {cwd: mine})
      expect(followed.code, followed.stderr).to.equal(0)
      expect(followed.stdout).to.equal('mine\n')
    })

    it('$KEYFLOW_HOME/secrets.env owned by another user is refused (exit 8)', async () => {
      mkdirSync(env.KEYFLOW_HOME, {mode: 0o700})
      asOther(`printf 'TOKEN=attacker\\n' > '${area.attacker}/secrets.env'`)
      renameSync(join(area.attacker, 'secrets.env'), join(env.KEYFLOW_HOME, 'secrets.env'))
      const result = await kf(['secret', 'get', 'TOKEN', '--sources', 'dotenv', '--json'])
      expect(result.code, result.stderr).to.equal(8)
      expect(errorOf(result)).to.include({code: 'UNTRUSTED_PATH', where: join(env.KEYFLOW_HOME, 'secrets.env')})
    })
  })

  describe('hole 2: a KEYFLOW_HOME or store directory others can write is refused', () => {
    it('a home the other user created 0777 is refused by every command that uses it (exit 8, with the fix)', async () => {
      const home = join(area.attacker, 'keyflow-home')
      asOther(`mkdir -m 777 '${home}'`)
      for (const args of [['block', 'ls', '--json'], ['secret', 'get', 'TOKEN', '--json']]) {
        // eslint-disable-next-line no-await-in-loop
        const result = await kf(args, {env: {KEYFLOW_HOME: home, TOKEN: 'x'}})
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(8)
        expect(errorOf(result)).to.include({code: 'UNTRUSTED_PATH', where: home})
        expect(errorOf(result).fix).to.contain('chown')
      }
    })

    it('a home that is a link: followed when the user owns the link, refused when the other user does', async () => {
      const real = join(area.root, 'real-home')
      mkdirSync(real, {mode: 0o700})
      symlinkSync(real, env.KEYFLOW_HOME)
      const made = await kf(['block', 'create', 'secret', 'x', '--stdin-field', 'value'], {input: 'v'})
      expect(made.code, made.stderr).to.equal(0)
      const planted = join(area.attacker, 'home-link')
      asOther(`ln -s '${real}' '${planted}'`)
      const refused = await kf(['block', 'ls', '--json'], {env: {KEYFLOW_HOME: planted}})
      expect(refused.code, refused.stderr).to.equal(8)
      expect(errorOf(refused).message).to.contain('symbolic link owned by another user')
    })

    it('a home of the user that group or others may write is refused, saying chmod 700', async () => {
      mkdirSync(env.KEYFLOW_HOME, {mode: 0o700})
      chmodSync(env.KEYFLOW_HOME, 0o777)
      const result = await kf(['block', 'ls', '--json'])
      expect(result.code, result.stderr).to.equal(8)
      expect(errorOf(result).fix).to.contain(`chmod 700 ${env.KEYFLOW_HOME}`)
    })

    it('the attack: a blocks/ swapped in with a link to the victim\'s credentials next to a planted connector', async () => {
      const secret = canary('sfpass')
      const created = await kf(['block', 'create', 'snowflake-credentials', 'prod', '--from-file', '-'], {
        input: JSON.stringify({account: 'acct', password: secret, user: 'u'}),
      })
      expect(created.code, created.stderr).to.equal(0)
      // The home is open to the attacker (as if they had created it), who builds their own blocks/.
      chmodSync(env.KEYFLOW_HOME, 0o777)
      const store = join(env.KEYFLOW_HOME, 'blocks')
      renameSync(store, join(env.KEYFLOW_HOME, 'victim-blocks'))
      asOther(
        [
          `mkdir -p '${store}/documents/snowflake-credentials' '${store}/documents/snowflake-connector'`,
          `ln -s '${env.KEYFLOW_HOME}/victim-blocks/documents/snowflake-credentials/prod.json' '${store}/documents/snowflake-credentials/prod.json'`,
        ].join(' && '),
      )
      const inspected = await kf(['block', 'inspect', 'snowflake-credentials/prod', '--json'])
      expect(inspected.code, inspected.stderr).to.equal(8)
      expect(errorOf(inspected).code).to.equal('UNTRUSTED_PATH')
      // With the home private again, the attacker's store directory is still refused.
      chmodSync(env.KEYFLOW_HOME, 0o700)
      const again = await kf(['block', 'inspect', 'snowflake-credentials/prod', '--json'])
      expect(again.code, again.stderr).to.equal(8)
      expect(errorOf(again)).to.include({code: 'UNTRUSTED_PATH', where: store})
      expect(again.stderr).to.not.contain(secret)
    })
  })

  describe('whole-document integrity', () => {
    beforeEach(async () => {
      await kf(['block', 'create', 'snowflake-credentials', 'prod', '--from-file', '-'], {input: JSON.stringify({account: 'acct', password: canary('pw'), user: 'u'})})
      const made = await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=DB', '--field', 'warehouse=WH', '--field', 'schema=PUBLIC'])
      expect(made.code, made.stderr).to.equal(0)
    })

    it('an edited plain field (access_url) is an integrity error on load', async () => {
      const file = connectorFile()
      const record = JSON.parse(readFileSync(file, 'utf8'))
      record.data.access_url = 'https://attacker.invalid'
      writeFileSync(file, JSON.stringify(record))
      const result = await kf(['block', 'inspect', 'snowflake-connector/prod', '--json'])
      expect(result.code, result.stderr).to.equal(8)
      expect(errorOf(result)).to.include({code: 'STORE_TAMPERED', where: file})
    })

    it('a document copied under another name, or planted without a MAC, is an integrity error', async () => {
      const file = connectorFile()
      const record = JSON.parse(readFileSync(file, 'utf8'))
      writeFileSync(file.replace('prod.json', 'copy.json'), JSON.stringify({...record, name: 'copy'}))
      delete record.mac
      writeFileSync(file.replace('prod.json', 'planted.json'), JSON.stringify({...record, name: 'planted'}))
      const copied = await kf(['block', 'inspect', 'snowflake-connector/copy', '--json'])
      expect(copied.code, copied.stderr).to.equal(8)
      expect(errorOf(copied).code).to.equal('STORE_TAMPERED')
      const planted = await kf(['block', 'inspect', 'snowflake-connector/planted', '--json'])
      expect(planted.code, planted.stderr).to.equal(8)
      expect(errorOf(planted).code).to.equal('STORE_UNAUTHENTICATED')
      // ls flags both, and still lists the genuine one.
      const listed = await kf(['block', 'ls', '--json'])
      expect(JSON.parse(listed.stdout).blocks.map((block: {address: string}) => block.address)).to.include('snowflake-connector/prod')
      expect(listed.stderr).to.contain('snowflake-connector/planted').and.to.contain('not authenticated')
    })

    it('a registered type whose secret fields were edited out is refused', async () => {
      const registered = await kf(['block', 'register', '-f', join(ROOT, 'test', 'fixtures', 'blocks', 'counter.json')])
      expect(registered.code, registered.stderr).to.equal(0)
      const types = join(env.KEYFLOW_HOME, 'blocks', 'types')
      const [file] = readdirSync(types)
      const record = JSON.parse(readFileSync(join(types, file), 'utf8'))
      record.description = 'edited'
      writeFileSync(join(types, file), JSON.stringify(record))
      const result = await kf(['block', 'type', 'inspect', file.replace('.json', ''), '--json'])
      expect(result.code, result.stderr).to.equal(8)
      expect(errorOf(result).code).to.equal('STORE_TAMPERED')
    })

    it('a store from before records were authenticated: refused until `rekey --adopt-unauthenticated`, which lists what it adopted', async () => {
      const file = connectorFile()
      const documents = join(env.KEYFLOW_HOME, 'blocks', 'documents')
      for (const path of [file, join(documents, 'snowflake-credentials', 'prod.json')]) {
        const legacy = JSON.parse(readFileSync(path, 'utf8'))
        delete legacy.mac
        writeFileSync(path, JSON.stringify(legacy))
      }

      const refused = await kf(['block', 'rekey', '--json'])
      expect(refused.code, refused.stderr).to.equal(8)
      expect(errorOf(refused).code).to.equal('REKEY_INCOMPLETE')
      const adopted = await kf(['block', 'rekey', '--adopt-unauthenticated', '--json'])
      expect(adopted.code, adopted.stderr).to.equal(0)
      expect(JSON.parse(adopted.stdout).adopted).to.have.members(['snowflake-connector/prod', 'snowflake-credentials/prod'])
      const inspected = await kf(['block', 'inspect', 'snowflake-connector/prod', '--json'])
      expect(inspected.code, inspected.stderr).to.equal(0)
    })
  })

  describe('hole 4: symbolic links inside the store are integrity errors everywhere', () => {
    it('a linked document: ls flags it, inspect refuses it, rekey fails and keeps the old key', async () => {
      const made = await kf(['block', 'create', 'secret', 'real', '--stdin-field', 'value'], {input: canary('v')})
      expect(made.code, made.stderr).to.equal(0)
      const documents = join(env.KEYFLOW_HOME, 'blocks', 'documents', 'secret')
      symlinkSync(join(documents, 'real.json'), join(documents, 'linked.json'))
      const listed = await kf(['block', 'ls', '--json'])
      expect(listed.stderr).to.contain('secret/linked').and.to.contain('symbolic link')
      const inspected = await kf(['block', 'inspect', 'secret/linked', '--json'])
      expect(inspected.code, inspected.stderr).to.equal(8)
      expect(errorOf(inspected).code).to.equal('UNTRUSTED_PATH')
      const key = readFileSync(join(env.KEYFLOW_HOME, 'master.key'), 'utf8')
      const rekey = await kf(['block', 'rekey', '--json'])
      expect(rekey.code, rekey.stderr).to.equal(8)
      expect(readFileSync(join(env.KEYFLOW_HOME, 'master.key'), 'utf8')).to.equal(key)
      expect((await kf(['block', 'inspect', 'secret/real', '--reveal', '--json'])).code).to.equal(0)
    })

    it('a linked type directory: ls, inspect and rekey all refuse it (exit 8)', async () => {
      await kf(['block', 'create', 'secret', 'real', '--stdin-field', 'value'], {input: canary('v')})
      const documents = join(env.KEYFLOW_HOME, 'blocks', 'documents')
      mkdirSync(join(area.root, 'elsewhere'), {mode: 0o700})
      symlinkSync(join(area.root, 'elsewhere'), join(documents, 'aws-secret'))
      for (const args of [['block', 'ls', '--json'], ['block', 'inspect', 'aws-secret/x', '--json'], ['block', 'rekey', '--json']]) {
        // eslint-disable-next-line no-await-in-loop
        const result = await kf(args)
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(8)
        expect(result.stderr, args.join(' ')).to.contain('symbolic link')
      }
    })
  })

  describe('the master key file', () => {
    it('a dangling master.key link is a clear integrity error, not a crash', async () => {
      mkdirSync(env.KEYFLOW_HOME, {mode: 0o700})
      symlinkSync(join(area.root, 'gone'), join(env.KEYFLOW_HOME, 'master.key'))
      const result = await kf(['block', 'create', 'secret', 'x', '--stdin-field', 'value', '--json'], {input: 'v'})
      expect(result.code, result.stderr).to.equal(8)
      expect(errorOf(result)).to.include({code: 'UNTRUSTED_PATH', where: join(env.KEYFLOW_HOME, 'master.key')})
    })

    it('a master.key another user owns is refused', async () => {
      mkdirSync(env.KEYFLOW_HOME, {mode: 0o700})
      asOther(`head -c 32 /dev/urandom | base64 > '${area.attacker}/master.key' && chmod 600 '${area.attacker}/master.key'`)
      renameSync(join(area.attacker, 'master.key'), join(env.KEYFLOW_HOME, 'master.key'))
      const result = await kf(['block', 'create', 'secret', 'x', '--stdin-field', 'value', '--json'], {input: 'v'})
      expect(result.code, result.stderr).to.equal(8)
      expect(errorOf(result).message).to.contain(`owned by another user (uid ${OTHER.uid})`)
    })
  })

  it('a store directory the other user owns inside a private home is refused', async () => {
    mkdirSync(env.KEYFLOW_HOME, {mode: 0o700})
    const store = join(env.KEYFLOW_HOME, 'blocks')
    mkdirSync(store, {mode: 0o700})
    chownSync(store, OTHER.uid, OTHER.gid)
    const result = await kf(['block', 'ls', '--json'])
    expect(result.code, result.stderr).to.equal(8)
    expect(errorOf(result)).to.include({code: 'UNTRUSTED_PATH', where: store})
  })
})
