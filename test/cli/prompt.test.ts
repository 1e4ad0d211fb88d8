import {expect} from 'chai'
import {parse} from 'dotenv'
import {after, before, describe, it} from 'mocha'
import {IPty, spawn as spawnPty} from 'node-pty'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, BIN, runCli, tempDir} from '../support/cli.js'

/**
 * The prompts under a real pseudo-terminal, typed as a person would: each answer only once its
 * question shows. Keys are the bytes a terminal sends: backspace is DEL, the left arrow ESC [ D.
 */

const LEFT = '\u001B[D'
const RIGHT = '\u001B[C'
const BACKSPACE = '\u007F'
const CTRL_C = '\u0003'
const CTRL_D = '\u0004'
const ENTER = '\r'

interface Step {
  /** What to type once `prompt` has shown (since the previous step). */
  keys: string
  prompt: RegExp
}

/** One key at a time, as a person types (a paste arrives as one chunk, and then Inquirer drops cursor moves). */
async function typeKeys(terminal: IPty, keys: string): Promise<void> {
  // eslint-disable-next-line no-control-regex -- ESC starts a terminal key sequence
  for (const key of keys.match(/\u001B\[[A-D]|[\S\s]/gu) ?? []) {
    terminal.write(key)
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 15)
    })
  }
}

async function converse(args: string[], env: Record<string, string>, steps: Step[]): Promise<{code: number; output: string}> {
  const terminal = spawnPty(process.execPath, [BIN, ...args], {cols: 200, env: {...env, TERM: 'xterm'}, rows: 24})
  let output = ''
  let seen = 0
  let step = 0
  let typing = Promise.resolve()
  terminal.onData((data) => {
    output += data
    while (step < steps.length && steps[step].prompt.test(output.slice(seen))) {
      seen = output.length
      const {keys} = steps[step++]
      typing = typing.then(async () => typeKeys(terminal, keys))
    }
  })
  const timer = setTimeout(() => terminal.kill('SIGKILL'), 30_000)
  const code = await new Promise<number>((resolve) => {
    terminal.onExit(({exitCode}) => resolve(exitCode))
  })
  clearTimeout(timer)
  expect(step, `steps answered; the terminal showed: ${JSON.stringify(output.slice(-300))}`).to.equal(steps.length)
  return {code, output}
}

describe('prompts under a pseudo-terminal', () => {
  let home: ReturnType<typeof tempDir>
  let env: Record<string, string>
  let secretsFile: string
  const stored = () => (existsSync(secretsFile) ? parse(readFileSync(secretsFile)) : {})

  before(() => {
    home = tempDir()
    env = baseEnv(home.path)
    secretsFile = join(env.KEYFLOW_HOME, 'secrets.env')
  })

  after(() => home.cleanup())

  describe('secret set', () => {
    it('asks twice, hidden; line editing works and escape sequences never reach the value', async () => {
      const value = canary('typed')
      // Typed with a mistake fixed by backspace, and a character inserted after moving left.
      const keys = `${value}X${BACKSPACE}${LEFT}${LEFT}_${RIGHT}${RIGHT}${ENTER}`
      const expected = `${value.slice(0, -2)}_${value.slice(-2)}`
      const {code, output} = await converse(['secret', 'set', 'TYPED'], env, [
        {keys, prompt: /Value for TYPED/},
        {keys, prompt: /same value again/},
      ])
      expect(code).to.equal(0)
      assertNoCanary(output, [value, expected], 'the terminal')
      expect(stored().TYPED === expected).to.equal(true)
    })

    it('asks again when the two answers differ', async () => {
      const {code, output} = await converse(['secret', 'set', 'MISMATCH'], env, [
        {keys: `first${ENTER}`, prompt: /Value for MISMATCH/},
        {keys: `other${ENTER}`, prompt: /same value again/},
        {keys: `right${ENTER}`, prompt: /differ; try again[\S\s]*Value for MISMATCH/},
        {keys: `right${ENTER}`, prompt: /same value again/},
      ])
      expect(code).to.equal(0)
      expect(output).to.include('The two values differ')
      expect(stored().MISMATCH).to.equal('right')
    })

    it('re-asks an empty answer instead of storing it', async () => {
      const {code} = await converse(['secret', 'set', 'NONEMPTY'], env, [
        {keys: ENTER, prompt: /Value for NONEMPTY/},
        {keys: `v${ENTER}`, prompt: /value is empty/},
        {keys: `v${ENTER}`, prompt: /same value again/},
      ])
      expect(code).to.equal(0)
      expect(stored().NONEMPTY).to.equal('v')
    })

    it('Ctrl-C exits 130 and writes nothing', async () => {
      const {code} = await converse(['secret', 'set', 'INTERRUPTED'], env, [{keys: `partial${CTRL_C}`, prompt: /Value for INTERRUPTED/}])
      expect(code).to.equal(130)
      expect(Object.hasOwn(stored(), 'INTERRUPTED')).to.equal(false)
    })

    it('Ctrl-D cancels (exit 2) and writes nothing, also at the second question', async () => {
      const {code} = await converse(['secret', 'set', 'EOF'], env, [
        {keys: `v${ENTER}`, prompt: /Value for EOF/},
        {keys: CTRL_D, prompt: /same value again/},
      ])
      expect(code).to.equal(2)
      expect(Object.hasOwn(stored(), 'EOF')).to.equal(false)
    })
  })

  describe('block create', () => {
    it('snowflake-credentials: asks account, the hidden password and then user (required by the default authenticator)', async () => {
      const password = canary('sfpw')
      const {code, output} = await converse(['block', 'create', 'snowflake-credentials', 'dev'], env, [
        {keys: `xy12${LEFT}3${ENTER}`, prompt: /Account \(account\)/},
        {keys: `${password}${ENTER}`, prompt: /Password \(password\)/},
        {keys: `etl${ENTER}`, prompt: /User \(user\)/},
      ])
      expect(code).to.equal(0)
      assertNoCanary(output, [password], 'the terminal')
      const inspected = await runCli(['block', 'inspect', 'snowflake-credentials/dev', '--reveal', '--json'], {env})
      const {data} = JSON.parse(inspected.stdout) as {data: Record<string, string>}
      expect(data.account).to.equal('xy132')
      expect(data.user).to.equal('etl')
      expect(data.password === password).to.equal(true)
    })

    it('snowflake-connector: a field that fails validation is asked again, not the whole document discarded', async () => {
      const {code, output} = await converse(['block', 'create', 'snowflake-connector', 'prod'], env, [
        {keys: `nope${ENTER}`, prompt: /Credentials \(credentials\)/},
        {keys: `${BACKSPACE.repeat(4)}dev${ENTER}`, prompt: /no saved document snowflake-credentials\/nope/},
        {keys: `ANALYTICS${ENTER}`, prompt: /Database \(database\)/},
        {keys: `WH${ENTER}`, prompt: /Warehouse \(warehouse\)/},
        {keys: `PUBLIC${ENTER}`, prompt: /Schema \(schema\)/},
      ])
      expect(code, output).to.equal(0)
      const inspected = await runCli(['block', 'inspect', 'snowflake-connector/prod', '--json'], {env})
      expect(JSON.parse(inspected.stdout).data).to.include({database: 'ANALYTICS', schema: 'PUBLIC', warehouse: 'WH'})
    })

    it('Ctrl-C at a field exits 130 and saves nothing', async () => {
      const {code} = await converse(['block', 'create', 'snowflake-credentials', 'halfway'], env, [
        {keys: `acct${ENTER}`, prompt: /Account \(account\)/},
        {keys: CTRL_C, prompt: /Password \(password\)/},
      ])
      expect(code).to.equal(130)
      expect((await runCli(['block', 'inspect', 'snowflake-credentials/halfway'], {env})).code).to.equal(3)
    })
  })

  describe('secret rm', () => {
    it('asks before deleting; the default is no', async () => {
      await runCli(['secret', 'set', 'DOOMED'], {env, input: 'v'})
      const kept = await converse(['secret', 'rm', 'DOOMED'], env, [{keys: ENTER, prompt: /Delete DOOMED from/}])
      expect(kept.code).to.equal(0)
      expect(stored().DOOMED).to.equal('v')
      const removed = await converse(['secret', 'rm', 'DOOMED'], env, [{keys: `y${ENTER}`, prompt: /Delete DOOMED from/}])
      expect(removed.code).to.equal(0)
      expect(Object.hasOwn(stored(), 'DOOMED')).to.equal(false)
    })
  })
})
