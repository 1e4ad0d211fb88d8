import {expect} from 'chai'
import {after, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {baseEnv, ROOT, runCli, tempDir} from '../support/cli.js'

/* eslint-disable no-template-curly-in-string -- the values under test are Prefect's ${...} syntax, not templates */
/**
 * Prefect 1's config loader rewrites context secrets before a flow sees them. The child here
 * is examples/prefect1-flow/flow.py's loader: Prefect 1's rules on Python's own expandvars,
 * expanduser and ast.literal_eval, so keyflow's model of them is checked against the real
 * functions, value by value.
 */
const FLOW_DIR = join(ROOT, 'examples', 'prefect1-flow')
const CONTEXT = 'PREFECT__CONTEXT__SECRETS__'
/** Prints, per name, whether the loaded secret differs from the variable (names only), then each loaded value. */
const LOADER = [
  'import json, os, sys',
  `sys.path.insert(0, ${JSON.stringify(FLOW_DIR)})`,
  'from flow import load_context_secrets',
  'secrets = load_context_secrets()',
  `raw = {k[len(${JSON.stringify(CONTEXT)}):]: v for k, v in os.environ.items() if k.startswith(${JSON.stringify(CONTEXT)})}`,
  'print(json.dumps({"changed": {n: not (isinstance(secrets.get(n), str) and secrets[n] == raw[n]) for n in raw}}))',
  'for n in sorted(secrets): print("value", n, secrets[n])',
].join('\n')

const changedBy = (stdout: string): Record<string, boolean> => JSON.parse(stdout.split('\n').find((line) => line.startsWith('{"changed"'))!).changed

describe('run: Prefect 1 fidelity', () => {
  const home = tempDir()
  const env = {...baseEnv(home.path), KEYFLOW_ENV_FILES: join(home.path, 'none.env')}

  after(() => home.cleanup())
  const run = (args: string[], values: Record<string, string>) => runCli(['run', ...args, '--', 'python3', '-c', LOADER], {env: {...env, ...values}})

  it('warns about exactly the values Prefect 1 rewrites, naming the secret and never the value', async () => {
    const values: Record<string, string> = {
      BOOL_ANY_CASE: 'tRuE',
      BYTES: "b'k9x'",
      COMMENTED: '42 # note',
      COMPLEX: '1+2j',
      CONFIG_REF: 'pre${server.hostzz}post',
      DICT: "{'a': 1}",
      DOUBLE_QUOTED: `"'77'"`,
      EMPTY_SET: 'set()',
      FLOAT: '1e3',
      HEX: '0x1F',
      HOME_REF: '$HOME/xq',
      INDENTED: ' \t7',
      JSON_OBJECT: '{"a": true, "b": null}',
      LIST: '[1, 2]',
      NEGATIVE: '-5',
      NONE: 'None',
      NOT_A_LITERAL: 'abc # x',
      PLAIN: 'Pl4in-value!',
      QUOTED: "'quoted-1'",
      TILDE: '~/tk-9f8e7d',
      TILDE_ROOT: '~root/k',
      TILDE_UNKNOWN: '~no_such_user_kf/k',
      TUPLE: '(1,)',
      UNDERSCORES: '1_000',
      UNSET_VAR: '$KF_UNSET_VARIABLE_Z-x',
      WRAPPED_VAR: 'Xy7${HOME}q9Zk',
    }
    const args = Object.keys(values).flatMap((name) => ['--secret', `${name}=env://SRC_${name}`])
    const result = await run(args, Object.fromEntries(Object.entries(values).map(([name, value]) => [`SRC_${name}`, value])))
    expect(result.code, result.stderr).to.equal(0)
    const changed = changedBy(result.stdout)
    // The ground truth is the Python loader; a case that does not change is there to catch false warnings.
    expect(changed.PLAIN).to.equal(false)
    expect(changed.JSON_OBJECT).to.equal(false)
    expect(changed.NOT_A_LITERAL).to.equal(false)
    expect(changed.WRAPPED_VAR).to.equal(true)
    for (const [name, isChanged] of Object.entries(changed)) {
      expect(result.stderr.includes(`${CONTEXT}${name} (`), `${name}: Prefect changes it: ${isChanged}`).to.equal(isChanged)
    }

    for (const value of Object.values(values)) {
      // None is also the word for what Prefect makes of it.
      if (value.length >= 4 && value !== 'None') expect(result.stderr.includes(value), `a value in the warnings: ${value}`).to.equal(false)
    }
  })

  it('masks the expanded forms the flow prints: ${HOME} inside a value and a leading ~', async () => {
    const result = await run(['--secret', 'PASSWORD=env://SRC_PW', '--secret', 'TOKEN=env://SRC_TK'], {SRC_PW: 'Xy7${HOME}q9Zk', SRC_TK: '~/tk-9f8e7d'})
    expect(result.code, result.stderr).to.equal(0)
    const expanded = [`Xy7${home.path}q9Zk`, `${home.path}/tk-9f8e7d`]
    for (const form of expanded) expect(result.stdout.includes(form), 'an expanded value in the output').to.equal(false)
    expect(result.stdout).to.include('value PASSWORD *****')
    expect(result.stdout).to.include('value TOKEN *****')
  })

  it('keeps the value intact in plain style, with no warning', async () => {
    const result = await runCli(['run', '--env-style', 'plain', '--secret', 'PASSWORD=env://SRC_PW', '--', 'python3', '-c', 'import os; print(len(os.environ["PASSWORD"]))'], {
      env: {...env, SRC_PW: 'Xy7${HOME}q9Zk'},
    })
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout.trim()).to.equal(String('Xy7${HOME}q9Zk'.length))
    expect(result.stderr).to.not.include('Prefect 1')
  })

  it('accepts names Prefect reads that are not shell names (my-key, my.key)', async () => {
    const result = await run(['--secret', 'my-key', '--secret', 'my.key'], {'my-key': 'val-one-1', 'my.key': 'val-two-2'})
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout).to.include('value my-key *****')
    expect(result.stdout).to.include('value my.key *****')
  })

  it('refuses names that make the loader fail: Config attributes, X with X__Y, an empty part', async () => {
    for (const [names, expected] of [
      [['keys'], '"keys" is an attribute'],
      [['DB__to_dict'], '"to_dict" is an attribute'],
      [['NEST', 'NEST__INNER'], 'Prefect makes "NEST" a dict'],
      [['A____B'], 'a part between them is empty'],
      [['9LIVES=DB_PASSWORD'], 'cannot be empty or hold = or NUL'],
    ] as const) {
      // eslint-disable-next-line no-await-in-loop
      const result = await run(names.flatMap((name) => ['--secret', name]), Object.fromEntries(names.filter((name) => !name.includes('=')).map((name) => [name, 'v4lue-x'])))
      expect(result.code, names.join(' ')).to.equal(2)
      expect(result.stderr).to.include("would make Prefect 1's config loader fail")
      expect(result.stderr).to.include(expected)
      expect(result.stdout).to.equal('')
    }
  })

  it('refuses --block secret/x together with --secret SECRET: Prefect cannot make SECRET both a value and a dict', async () => {
    const created = await runCli(['block', 'create', 'secret', 'x', '--stdin-field', 'value'], {env, input: 'bl0ck-value-1'})
    expect(created.code, created.stderr).to.equal(0)
    const result = await run(['--block', 'secret/x', '--secret', 'SECRET'], {SECRET: 'v4lue-x'})
    expect(result.code, result.stderr).to.equal(2)
    expect(result.stderr).to.include('Prefect makes "SECRET" a dict')
    expect(result.stderr).to.include('--block secret/x')
    const alone = await run(['--block', 'secret/x'], {})
    expect(alone.code, alone.stderr).to.equal(0)
    expect(alone.stdout).to.include('value SECRET {')
  })

  it('refuses a plain name that is not a shell name, suggesting an alias', async () => {
    const result = await runCli(['run', '--env-style', 'plain', '--secret', 'my-snowflake-pw', '--', 'true'], {env: {...env, 'my-snowflake-pw': 'x'}})
    expect(result.code).to.equal(2)
    expect(result.stderr).to.include('A name is not a valid environment variable name for a plain variable.')
    expect(result.stderr).to.include('--secret MY_SNOWFLAKE_PW=my-snowflake-pw')
  })

  it('resolves NEST from PREFECT__CONTEXT__SECRETS__NEST__* as the JSON object Prefect makes of it', async () => {
    const values = {[`${CONTEXT}NEST__DEEP__X`]: 'v-two', [`${CONTEXT}NEST__INNER`]: 'v-one'}
    const whole = await runCli(['secret', 'get', 'NEST'], {env: {...env, ...values}})
    expect(whole.code, whole.stderr).to.equal(0)
    expect(JSON.parse(whole.stdout)).to.deep.equal({DEEP: {X: 'v-two'}, INNER: 'v-one'})
    const field = await runCli(['secret', 'get', 'NEST#DEEP.X'], {env: {...env, ...values}})
    expect(field.stdout.trim()).to.equal('v-two')
  })

  it('says how to set a name a shell cannot assign when it is not found', async () => {
    const result = await runCli(['secret', 'get', '--sources', 'context,env', 'api-token'], {env})
    expect(result.code).to.equal(3)
    expect(result.stderr).to.include(`env '${CONTEXT}api-token=...' COMMAND`)
    expect(result.stderr).to.include("env 'api-token=...' COMMAND")
    expect(result.stderr).to.not.include('export api-token')
  })

  it("loads the model of Prefect 1's loader only for a run that injects in context style", async () => {
    // The CLI runs from bundles (scripts/bundle.mjs), where esbuild keeps a dynamic import() a
    // lazily evaluated part of the one file; the module boundary itself is seen in the ESM build
    // (dist/lib, what `import ... from 'keyflow'` loads): runWithSecrets from there, traced.
    const trace = join(home.path, 'modules')
    const script = `
      const {createInvocation} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'lib', 'invocation.js')).href)})
      const {runWithSecrets} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'lib', 'run', 'run.js')).href)})
      const flags = {'env-style': process.env.STYLE, secret: ['TOKEN']}
      process.exitCode = await runWithSecrets(createInvocation({flags: {}}), ['true'], flags)
    `
    const loaded = async (style: string) => {
      rmSync(trace, {force: true})
      const traced = {...env, KEYFLOW_TEST_MODULE_TRACE: trace, STYLE: style, TOKEN: 'abcdefgh12345'}
      const tracer = pathToFileURL(join(ROOT, 'test', 'support', 'trace-modules.mjs')).href
      const result = spawnSync(process.execPath, ['--import', tracer, '--input-type=module', '-e', script], {encoding: 'utf8', env: traced})
      expect(result.status, result.stderr).to.equal(0)
      return readFileSync(trace, 'utf8').split('\n').filter((url) => /\/run\/(prefect1|python-literal)\.js$/.test(url)).map((url) => url.split('/').at(-1)).sort()
    }

    expect(await loaded('plain')).to.deep.equal([])
    expect(await loaded('prefect')).to.deep.equal(['prefect1.js', 'python-literal.js'])
  })
})
