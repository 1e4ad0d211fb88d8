import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli, tempDir} from '../support/cli.js'
import {runInPty} from '../support/pty.js'

// eslint-disable-next-line no-bitwise -- permission bits
const mode = (path: string) => statSync(path).mode & 0o777

/** `keyflow init` through the built CLI: what it infers, what it writes, and that it never overwrites. */
describe('first hour: keyflow init', () => {
  let dir: ReturnType<typeof tempDir>
  let project: string
  let env: Record<string, string>

  beforeEach(() => {
    dir = tempDir()
    project = join(dir.path, 'project')
    mkdirSync(project)
    env = baseEnv(join(dir.path, 'home'))
  })

  afterEach(() => dir.cleanup())

  const init = (args: string[] = []) => runCli(['init', ...args], {cwd: project, env})

  it('writes keyflow.json declaring the names of .env.example, a 0600 secrets.env in a 0700 home, and .env in a new .gitignore', async () => {
    writeFileSync(join(project, '.env.example'), 'DB_PASSWORD=\n# a comment\nAPI_TOKEN=changeme\n')
    const result = await init()
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout).to.match(/created\s+\S+keyflow\.json: declares 2 secrets named in \.env\.example/)
    expect(JSON.parse(readFileSync(join(project, 'keyflow.json'), 'utf8'))).to.deep.equal({
      run: {secrets: {API_TOKEN: 'API_TOKEN', DB_PASSWORD: 'DB_PASSWORD'}},
      sources: ['context', 'env', 'dotenv', 'aws'],
    })
    const secretsFile = join(env.KEYFLOW_HOME, 'secrets.env')
    expect(mode(secretsFile)).to.equal(0o600)
    expect(mode(env.KEYFLOW_HOME)).to.equal(0o700)
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).to.match(/^\.env$/m)
    // What it wrote is what keyflow reads: run finds the declarations.
    const explain = await runCli(['secret', 'get', 'DB_PASSWORD', '--explain'], {cwd: project, env: {...env, DB_PASSWORD: 'x', KEYFLOW_PROJECT_FILE: join(project, 'keyflow.json')}})
    expect(explain.code, explain.stderr).to.equal(0)
  })

  it('takes names, never values, from .env when there is no example file', async () => {
    const value = canary('init')
    writeFileSync(join(project, '.env'), `ONLY_NAME=${value}\n`)
    const result = await init(['--json'])
    expect(result.code, result.stderr).to.equal(0)
    assertNoCanary(result.stdout + result.stderr + readFileSync(join(project, 'keyflow.json'), 'utf8'), [value], 'init output and keyflow.json')
    expect(JSON.parse(readFileSync(join(project, 'keyflow.json'), 'utf8')).run.secrets).to.deep.equal({ONLY_NAME: 'ONLY_NAME'})
  })

  it('appends to an existing .gitignore, once, and leaves one that already ignores .env alone', async () => {
    writeFileSync(join(project, '.gitignore'), 'node_modules')
    expect((await init()).code).to.equal(0)
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).to.equal('node_modules\n# local secrets (keyflow init)\n.env\n')
    const other = join(dir.path, 'other')
    mkdirSync(other)
    writeFileSync(join(other, '.gitignore'), '/.env\n')
    const result = await runCli(['init', '--json'], {cwd: other, env})
    expect(result.code, result.stderr).to.equal(0)
    const {steps} = JSON.parse(result.stdout)
    expect(steps.map((step: {action: string}) => step.action)).to.deep.equal(['created', 'kept', 'kept'])
    expect(readFileSync(join(other, '.gitignore'), 'utf8')).to.equal('/.env\n')
  })

  it('refuses to overwrite keyflow.json (exit 7) and writes nothing else then', async () => {
    writeFileSync(join(project, 'keyflow.json'), '{"sources": ["env"]}\n')
    const result = await init()
    expect(result.code).to.equal(7)
    expect(result.stderr).to.match(/^Error: keyflow\.json already exists here; keyflow init never overwrites it\./)
    expect(readFileSync(join(project, 'keyflow.json'), 'utf8')).to.equal('{"sources": ["env"]}\n')
    expect(existsSync(join(project, '.gitignore'))).to.equal(false)
    expect(existsSync(join(env.KEYFLOW_HOME, 'secrets.env'))).to.equal(false)
  })

  it('keeps an existing secrets.env as it is', async () => {
    mkdirSync(env.KEYFLOW_HOME, {mode: 0o700, recursive: true})
    writeFileSync(join(env.KEYFLOW_HOME, 'secrets.env'), 'A=1\n', {mode: 0o600})
    const result = await init(['--json'])
    expect(JSON.parse(result.stdout).steps[1]).to.include({action: 'kept'})
    expect(readFileSync(join(env.KEYFLOW_HOME, 'secrets.env'), 'utf8')).to.equal('A=1\n')
  })

  it('at a terminal, shows the plan and writes nothing unless told yes', async () => {
    let answered = false
    const no = await runInPty(['init'], {
      cwd: project,
      env,
      respond(output, type) {
        // The confirmation (@inquirer/confirm) asks `Write these files? (y/N)`; answered once.
        if (!answered && output.includes('(y/N)')) {
          answered = true
          type('n\r')
        }
      },
    })
    expect(no.code).to.equal(2)
    expect(no.output).to.match(/create\s+\S+keyflow\.json/)
    expect(no.output).to.include('Nothing was written.')
    expect(existsSync(join(project, 'keyflow.json'))).to.equal(false)
    const yes = await runInPty(['init', '--yes'], {cwd: project, env})
    expect(yes.code).to.equal(0)
    expect(existsSync(join(project, 'keyflow.json'))).to.equal(true)
  })
})
