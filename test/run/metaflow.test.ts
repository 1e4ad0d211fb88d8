import {expect} from 'chai'
import {after, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, runCli, tempDir} from '../support/cli.js'

/**
 * `--source` as Metaflow's @secrets(sources=[...]) behaves: plain variables by default, values
 * never losing information, Metaflow's collision rules, its per-source options. The child is
 * Python reading os.environ, as a Metaflow step does.
 */
const CONTEXT = 'PREFECT__CONTEXT__SECRETS__'
/** Prints the named variables as JSON (null when unset). Values here are test data, not canaries. */
const printVariables = (...names: string[]) => ['--', 'python3', '-c', 'import json, os, sys; print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))', ...names]
/** A variable literally named __proto__: an own property, never the prototype. */
const PROTO = '__proto__'
const ownValue = (object: object, key: string): unknown => Object.getOwnPropertyDescriptor(object, key)?.value
const printed = (stdout: string): Record<string, null | string> => JSON.parse(stdout.trim().split('\n').at(-1)!)

describe('run --source: Metaflow fidelity', () => {
  const home = tempDir()
  const secretsFile = join(home.path, 'secrets.env')
  const nested = '{"b": [1, 2.50, 12345678901234567890]}'
  writeFileSync(
    secretsFile,
    [
      `APP_ENV='{"DB_USER": "etl", "BIG": 12345678901234567890, "HUGE": 1e400, "FLAG": true, "NOTHING": null, "NESTED": ${nested}, "__proto__": "pr0to-value"}'`,
      `RESERVED='{"METAFLOW_USER": "x"}'`,
      `SIMPLE='{"DB_USER": "etl"}'`,
      'RAW_TOKEN=raw-t0ken-value',
      'API_TOKEN=ap1-token-value',
    ].join('\n') + '\n',
    {mode: 0o600},
  )
  const env = {...baseEnv(home.path), KEYFLOW_ENV_FILES: secretsFile}

  after(() => home.cleanup())

  it('injects source keys as plain variables, and --secret in context style, in one run', async () => {
    const result = await runCli(['run', '--mask', 'never', '--source', 'dotenv://APP_ENV', '--secret', 'API_TOKEN', ...printVariables('DB_USER', `${CONTEXT}DB_USER`, `${CONTEXT}API_TOKEN`, 'API_TOKEN')], {env})
    expect(result.code, result.stderr).to.equal(0)
    const got = printed(result.stdout)
    expect(got.DB_USER).to.equal('etl')
    expect(got[`${CONTEXT}DB_USER`]).to.equal(null)
    expect(got[`${CONTEXT}API_TOKEN`]).to.equal('ap1-token-value')
    expect(got.API_TOKEN).to.equal(null)
  })

  it('keeps every non-string value as written: big integers, 1e400, true, null, nested JSON', async () => {
    const result = await runCli(['run', '--mask', 'never', '--source', 'dotenv://APP_ENV', ...printVariables('BIG', 'HUGE', 'FLAG', 'NOTHING', 'NESTED')], {env})
    expect(result.code, result.stderr).to.equal(0)
    expect(printed(result.stdout)).to.deep.equal({BIG: '12345678901234567890', FLAG: 'true', HUGE: '1e400', NESTED: nested, NOTHING: 'null'})
  })

  it('gives the child a __proto__ key and an inherited __proto__ variable exactly, with no false warning', async () => {
    const result = await runCli(['run', '--source', 'dotenv://APP_ENV', ...printVariables('__proto__')], {env})
    expect(result.code, result.stderr).to.equal(0)
    expect(ownValue(printed(result.stdout), PROTO)).to.equal('*****')
    const inherited = await runCli(['run', '--secret', 'API_TOKEN', ...printVariables('__proto__')], {env: {...env, [PROTO]: 'inherited-proto'}})
    expect(inherited.code, inherited.stderr).to.equal(0)
    expect(ownValue(printed(inherited.stdout), PROTO)).to.equal('inherited-proto')
    expect(inherited.stderr).to.not.include('already set')
  })

  it('refuses a source key already in the environment unless overriding is allowed', async () => {
    const refused = await runCli(['run', '--source', 'dotenv://APP_ENV', ...printVariables('DB_USER')], {env: {...env, DB_USER: 'etl'}})
    expect(refused.code).to.equal(7)
    expect(refused.stderr).to.include('$DB_USER (--source dotenv://APP_ENV)')
    expect(refused.stderr).to.include('--allow-override')
    expect(refused.stdout).to.equal('')
    const allowed = await runCli(['run', '--allow-override', '--source', 'dotenv://APP_ENV', ...printVariables('DB_USER')], {env: {...env, DB_USER: 'someone'}})
    expect(allowed.code, allowed.stderr).to.equal(0)
    expect(printed(allowed.stdout).DB_USER).to.equal('etl')
    const project = join(home.path, 'keyflow.json')
    writeFileSync(project, JSON.stringify({run: {allowOverride: true, sources: ['dotenv://APP_ENV']}}))
    const fromFile = await runCli(['run', ...printVariables('DB_USER')], {env: {...env, DB_USER: 'someone', KEYFLOW_PROJECT_FILE: project}})
    expect(fromFile.code, fromFile.stderr).to.equal(0)
    expect(printed(fromFile.stdout).DB_USER).to.equal('etl')
  })

  it('refuses METAFLOW_* keys, as Metaflow does', async () => {
    const result = await runCli(['run', '--source', 'dotenv://RESERVED', '--', 'true'], {env})
    expect(result.code).to.equal(5)
    expect(result.stderr).to.include('starts with METAFLOW_')
  })

  it('takes the style per declaration, in keyflow.json and as a JSON flag; --env-style overrides all', async () => {
    const project = join(home.path, 'style.json')
    writeFileSync(project, JSON.stringify({run: {secrets: {API_TOKEN: {envStyle: 'plain', ref: 'API_TOKEN'}}, sources: [{envStyle: 'prefect', id: 'dotenv://SIMPLE'}]}}))
    const fromFile = await runCli(['run', ...printVariables('API_TOKEN', `${CONTEXT}API_TOKEN`, 'DB_USER', `${CONTEXT}DB_USER`)], {env: {...env, KEYFLOW_PROJECT_FILE: project}})
    expect(fromFile.code, fromFile.stderr).to.equal(0)
    expect(printed(fromFile.stdout)).to.deep.equal({[`${CONTEXT}API_TOKEN`]: null, [`${CONTEXT}DB_USER`]: 'etl', API_TOKEN: '*****', DB_USER: null})
    const fromFlag = await runCli(['run', '--source', '{"id": "dotenv://SIMPLE", "envStyle": "both"}', ...printVariables('DB_USER', `${CONTEXT}DB_USER`)], {env})
    expect(fromFlag.code, fromFlag.stderr).to.equal(0)
    expect(printed(fromFlag.stdout)).to.deep.equal({[`${CONTEXT}DB_USER`]: 'etl', DB_USER: 'etl'})
    const overridden = await runCli(['run', '--env-style', 'prefect', ...printVariables('API_TOKEN', 'DB_USER', `${CONTEXT}DB_USER`)], {env: {...env, KEYFLOW_PROJECT_FILE: project}})
    expect(printed(overridden.stdout)).to.deep.equal({[`${CONTEXT}DB_USER`]: 'etl', API_TOKEN: null, DB_USER: null})
  })

  it('takes json: false with env_var_name, and the aws-secrets-manager. type prefix', async () => {
    const named = await runCli(['run', '--source', '{"id": "dotenv://RAW_TOKEN", "options": {"json": false, "env_var_name": "TOKEN"}}', ...printVariables('TOKEN', 'RAW_TOKEN')], {env})
    expect(named.code, named.stderr).to.equal(0)
    expect(printed(named.stdout)).to.deep.equal({RAW_TOKEN: null, TOKEN: '*****'})
    const unnamed = await runCli(['run', '--source', '{"id": "dotenv://RAW_TOKEN", "options": {"json": false}}', ...printVariables('RAW_TOKEN')], {env})
    expect(printed(unnamed.stdout)).to.deep.equal({RAW_TOKEN: '*****'})
    const typed = await runCli(['run', '--source', 'aws-secrets-manager.app/db', '--', 'true'], {env})
    expect(typed.stderr).to.include('source "aws-sm://app/db"')
    const badType = await runCli(['run', '--source', '{"type": "gcp-secret-manager", "id": "x"}', '--', 'true'], {env})
    expect(badType.code).to.equal(2)
    expect(badType.stderr).to.include('Unknown source type "gcp-secret-manager"')
  })
})
