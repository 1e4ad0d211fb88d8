import {Config} from '@oclif/core'
import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, ROOT, runCli, tempDir} from '../support/cli.js'

/**
 * The first hour (issue 15): what a new user mistypes, and what keyflow answers, through the
 * built CLI. Each case names the exit code and what stderr (or stdout) must say; a canary
 * typed after an unknown word must never come back.
 */
describe('first hour: mistakes and messages', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const typed = canary('typed')

  before(() => {
    dir = tempDir()
    env = baseEnv(dir.path)
  })

  after(() => dir.cleanup())

  const run = (args: string[]) => runCli(args, {cwd: dir.path, env})

  describe('unknown commands', () => {
    const cases: Array<{args: string[]; message: RegExp; suggestion?: string}> = [
      {args: ['secrets', 'get', 'X'], message: /`keyflow secrets` is not a keyflow command/, suggestion: 'keyflow secret get'},
      {args: ['secret', 'gte', 'X'], message: /`keyflow secret gte` is not a keyflow command/, suggestion: 'keyflow secret get'},
      {args: ['--verison'], message: /`keyflow --verison` is not a keyflow flag/, suggestion: 'keyflow --version'},
      {args: ['block', 'typ', 'ls'], message: /`keyflow block typ` is not a keyflow command/, suggestion: 'keyflow block type ls'},
      {args: ['sq', 'SELECT 1'], message: /`keyflow sq` is not a keyflow command/, suggestion: 'keyflow sql'},
      {args: ['frobnicate'], message: /`keyflow frobnicate` is not a keyflow command/},
    ]
    for (const {args, message, suggestion} of cases) {
      it(`${args.join(' ')}: keyflow's usage error${suggestion ? `, suggesting ${suggestion}` : ', no suggestion when nothing is close'}`, async () => {
        const result = await run(args)
        expect(result.code).to.equal(2)
        expect(result.stdout).to.equal('')
        expect(result.stderr).to.match(/^Error: /)
        expect(result.stderr).to.match(message)
        if (suggestion) expect(result.stderr).to.include(`Did you mean \`${suggestion}\`?`)
        else expect(result.stderr).not.to.include('Did you mean')
        expect(result.stderr).to.include('keyflow help')
      })
    }

    for (const args of [
      ['secret', 'set', 'FOO', typed],
      ['secret', 'put', 'FOO', typed, '--json'],
      ['secretz', 'set', typed],
      ['block', 'creat', 'secret', 'x', '--field', `value=${typed}`],
      [typed],
    ]) {
      it(`never repeats what follows the unknown word: ${args.map((arg) => (arg === typed ? 'CANARY' : arg)).join(' ')}`, async () => {
        const result = await run(args)
        expect(result.code).to.equal(2)
        // The unknown word itself is repeated (it is what the user must fix), nothing after it.
        if (args[0] !== typed) assertNoCanary(result.stdout + result.stderr, [typed], 'output')
        // `secret set` is a command now: it refuses a value in argv, and never echoes it either.
        expect(result.stderr).to.match(args[0] === 'secret' && args[1] === 'set' ? /takes the name only/ : /is not a keyflow command/)
      })
    }

    it('--json: the error is JSON on stderr, stdout empty', async () => {
      const result = await run(['secretz', 'get', 'X', '--json'])
      expect(result.code).to.equal(2)
      expect(result.stdout).to.equal('')
      const {error} = JSON.parse(result.stderr)
      expect(error).to.include({code: 'UNKNOWN_COMMAND', exit: 2})
      expect(error.message).to.equal('`keyflow secretz` is not a keyflow command.')
      expect(error.fix).to.include('Did you mean `keyflow secret get`?')
    })

    it('KEYFLOW_CONTENT_TYPE=json: the error is JSON too', async () => {
      const result = await runCli(['secretz', 'get', 'X'], {cwd: dir.path, env: {...env, KEYFLOW_CONTENT_TYPE: 'json'}})
      expect(result.code).to.equal(2)
      expect(JSON.parse(result.stderr).error.code).to.equal('UNKNOWN_COMMAND')
    })

    it('a --json after `--` belongs to the command line, not to keyflow', async () => {
      const result = await run(['secretz', '--', 'x', '--json'])
      expect(result.code).to.equal(2)
      expect(result.stderr).to.match(/^Error: /)
    })
  })

  describe('help and version honour --json', () => {
    it('help --json: every visible command, with its flags and arguments', async () => {
      const result = await run(['help', '--json'])
      expect(result.code).to.equal(0)
      const {commands} = JSON.parse(result.stdout)
      const names = commands.map((command: {command: string}) => command.command)
      expect(names).to.include.members(['keyflow secret get', 'keyflow run', 'keyflow block create', 'keyflow help'])
      const get = commands.find((command: {command: string}) => command.command === 'keyflow secret get')
      expect(get.args[0]).to.include({name: 'reference', required: true})
      expect(get.flags.find((flag: {name: string}) => flag.name === 'format')).to.include({type: 'option'})
      expect(get.examples.join('\n')).not.to.include('<%=')
    })

    it('help TOPIC COMMAND --json: that command alone; help TOPIC --json: the topic', async () => {
      const one = JSON.parse((await run(['help', 'block', 'create', '--json'])).stdout)
      expect(one.commands.map((command: {command: string}) => command.command)).to.deep.equal(['keyflow block create'])
      const topic = JSON.parse((await run(['help', 'block', 'type', '--json'])).stdout)
      expect(topic.commands.map((command: {command: string}) => command.command)).to.deep.equal(['keyflow block type inspect', 'keyflow block type ls'])
    })

    it('help for an unknown command: the unknown-command error', async () => {
      const text = await run(['help', 'secret', 'gte'])
      expect(text.code).to.equal(2)
      expect(text.stderr).to.include('Did you mean `keyflow secret get`?')
      const json = await run(['help', 'nope', '--json'])
      expect(json.code).to.equal(2)
      expect(JSON.parse(json.stderr).error.code).to.equal('UNKNOWN_COMMAND')
    })

    it('help TOPIC: text for people', async () => {
      const result = await run(['help', 'secret'])
      expect(result.code).to.equal(0)
      expect(result.stdout).to.match(/secret get\s+Resolve secrets/)
    })

    it('--version --json: name, version, node, platform and arch as JSON; --version stays text', async () => {
      const json = await run(['--version', '--json'])
      expect(json.code).to.equal(0)
      expect(JSON.parse(json.stdout)).to.include({name: 'keyflow', node: process.version, platform: process.platform})
      const text = await run(['--version'])
      expect(text.stdout).to.match(/^keyflow\/\d+\.\d+\.\d+ /)
    })

    it('--json --version: the same JSON as --version --json, whatever the order', async () => {
      const versionFirst = await run(['--version', '--json'])
      const jsonFirst = await run(['--json', '--version'])
      expect(jsonFirst.code).to.equal(0)
      expect(jsonFirst.stderr).to.equal('')
      expect(jsonFirst.stdout).to.equal(versionFirst.stdout)
      expect(JSON.parse(jsonFirst.stdout)).to.include({name: 'keyflow'})
    })
  })

  describe('repeatable flags take one value per occurrence', () => {
    it('every repeatable flag of every command is non-greedy', async () => {
      const config = await Config.load(ROOT)
      const greedy: string[] = []
      for (const command of config.commands) {
        // eslint-disable-next-line no-await-in-loop
        const loaded = await command.load()
        for (const [name, flag] of Object.entries(loaded.flags ?? {})) {
          if (flag.type === 'option' && flag.multiple && !flag.multipleNonGreedy) greedy.push(`${command.id} --${name}`)
        }
      }

      expect(greedy).to.deep.equal([])
    })

    it('block create --field account=x TYPE NAME: the arguments after the flag are arguments', async () => {
      const result = await run(['block', 'create', '--field', 'value=env://X', 'secret', 'foo', '--json'])
      expect(result.code, result.stderr).to.equal(0)
      expect(JSON.parse(result.stdout)).to.include({address: 'secret/foo'})
    })

    it('secret get --env-file FILE NAME, and run --secret A --secret B -- CMD', async () => {
      writeFileSync(join(dir.path, 'one.env'), 'ONE=1\n')
      const get = await run(['secret', 'get', '--env-file', join(dir.path, 'one.env'), 'ONE', '--sources', 'dotenv'])
      expect(get.code, get.stderr).to.equal(0)
      expect(get.stdout).to.equal('1\n')
      const runResult = await runCli(['run', '--secret', 'A', '--secret', 'B', '--', process.execPath, '-e', 'process.stdout.write(process.env.PREFECT__CONTEXT__SECRETS__B)'], {cwd: dir.path, env: {...env, A: 'aaaa', B: 'bbbb'}})
      expect(runResult.code, runResult.stderr).to.equal(0)
      expect(runResult.stdout).to.equal('*****')
    })

    it('a missing argument says so, without oclif\'s note about flags with multiple values', async () => {
      const result = await run(['block', 'create', 'secret', '--field', 'value=env://X'])
      expect(result.code).to.equal(2)
      expect(result.stderr).to.match(/^Error: Missing 1 required arg:\nname /)
      expect(result.stderr).not.to.include('multiple values')
      expect(result.stderr).not.to.include('Alternatively')
    })
  })

  describe('what to do next', () => {
    it('sql without --block: says which flag, and how to find or save a connector', async () => {
      const result = await run(['sql', 'SELECT 1'])
      expect(result.code).to.equal(2)
      expect(result.stderr).to.match(/^Error: keyflow sql needs a connector: --block snowflake-connector\/NAME\./)
      expect(result.stderr).to.include('keyflow block ls --type snowflake-connector')
      expect(result.stderr).not.to.include('The following error occurred')
    })

    it('block ls --type for a type that does not exist: not found (exit 3), naming the types there are', async () => {
      const result = await run(['block', 'ls', '--type', 'nope'])
      expect(result.code).to.equal(3)
      expect(result.stdout).to.equal('')
      expect(result.stderr).to.match(/^Error: Block type 'nope' not found!/)
      expect(result.stderr).to.include('snowflake-connector')
      const json = await run(['block', 'ls', '--type', 'nope', '--json'])
      expect(JSON.parse(json.stderr).error).to.include({code: 'BLOCK_TYPE_NOT_FOUND', exit: 3})
      const known = await run(['block', 'ls', '--type', 'aws-secret'])
      expect(known.code).to.equal(0)
      expect(known.stdout).to.equal('No blocks.\n')
    })

    it('run with nothing declared and no keyflow.json: a warning on stderr, then the command', async () => {
      const printEnv = ['--', process.execPath, '-e', 'process.stdout.write("ran")']
      const warned = await run(['run', ...printEnv])
      expect(warned.code).to.equal(0)
      expect(warned.stdout).to.equal('ran')
      expect(warned.stderr).to.match(/^Warning: nothing to inject: no --secret, --source or --block, and no keyflow\.json in /)
      expect(warned.stderr).to.include('--allow-empty')
      const allowed = await run(['run', '--allow-empty', ...printEnv])
      expect(allowed.stderr).to.equal('')
      const project = join(dir.path, 'empty-keyflow.json')
      writeFileSync(project, '{}\n', {mode: 0o600})
      const withProject = await runCli(['run', ...printEnv], {cwd: dir.path, env: {...env, KEYFLOW_PROJECT_FILE: project}})
      expect(withProject.stderr).to.equal('')
    })
  })
})
