import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join} from 'node:path'

import {baseEnv, ROOT, tempDir} from '../support/cli.js'

/**
 * What `secret get` loads to answer from the environment, the call scripts make once per
 * secret: each Node built-in module below costs it a tenth of a millisecond or more to load
 * (node:os about 0.2 ms), and none is needed for that answer.
 */
const NOT_NEEDED = ['child_process', 'crypto', 'net', 'os', 'stream', 'tty', 'zlib']

describe('packaging: what secret get loads', () => {
  let dir: ReturnType<typeof tempDir>

  before(() => {
    dir = tempDir()
  })

  after(() => dir?.cleanup())

  const keyflow = (args: string[], env: Record<string, string | undefined>) => {
    const trace = join(dir.path, 'builtins.txt')
    const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {
      cwd: dir.path,
      encoding: 'utf8',
      env: {...env, KEYFLOW_TEST_BUILTIN_TRACE: trace, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'builtin-modules.cjs')}`},
    })
    return {...result, loaded: readFileSync(trace, 'utf8').split('\n')}
  }

  it('an answer from the environment loads none of the built-in modules it does not need', () => {
    const result = keyflow(['secret', 'get', 'STARTUP_NAME'], {...baseEnv(dir.path), STARTUP_NAME: 'startup-value'})
    expect([result.status, result.stdout, result.stderr]).to.deep.equal([0, 'startup-value\n', ''])
    expect(result.loaded.filter((line) => NOT_NEEDED.some((name) => line === `NativeModule ${name}`))).to.deep.equal([])
  })

  it('with the default keyflow home (KEYFLOW_HOME unset, HOME set) and keyflow.json looked for, as users run it, loads no node:os either', () => {
    const result = keyflow(['secret', 'get', 'STARTUP_NAME'], {...baseEnv(dir.path), KEYFLOW_HOME: undefined, KEYFLOW_PROJECT_FILE: undefined, STARTUP_NAME: 'startup-value'})
    expect([result.status, result.stdout, result.stderr]).to.deep.equal([0, 'startup-value\n', ''])
    expect(result.loaded).not.to.include('NativeModule os')
  })

  it('with HOME unset, the keyflow home is in the home directory the password database gives', () => {
    const result = keyflow(['secret', 'get', 'STARTUP_MISSING', '--sources', 'dotenv'], {...baseEnv(dir.path), HOME: undefined, KEYFLOW_HOME: undefined})
    expect(result.status, result.stderr).to.equal(3)
    expect(result.stderr).to.include(`${join(userInfo().homedir, '.keyflow', 'secrets.env')} (no such file)`)
  })

  it('with HOME set but empty, the keyflow home is .keyflow in the working directory, as os.homedir() gives ""', () => {
    const result = keyflow(['secret', 'get', 'STARTUP_MISSING', '--sources', 'dotenv'], {...baseEnv(dir.path), HOME: '', KEYFLOW_HOME: undefined})
    expect(result.status, result.stderr).to.equal(3)
    expect(result.stderr).to.include(`${join(dir.path, '.keyflow', 'secrets.env')} (no such file)`)
  })
})
