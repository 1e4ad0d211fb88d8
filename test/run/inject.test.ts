import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {baseEnv, BIN, runCli, tempDir} from '../support/cli.js'
import {fixture, parseReport, sha256, startKeyflow, until} from '../support/run-child.js'

const CONTEXT = 'PREFECT__CONTEXT__SECRETS__'
const report = (...names: string[]) => ['--', process.execPath, fixture('report.mjs'), ...names]

/** Writes keyflow.json in `dir` (env files read from there) and runs keyflow there with it. */
function withProject(dir: string, env: Record<string, string>, run: unknown) {
  const file = join(dir, 'keyflow.json')
  writeFileSync(file, JSON.stringify({envFiles: ['secrets.env'], run}))
  return async (args: string[], extra: Record<string, string> = {}) => runCli(args, {cwd: dir, env: {...env, ...extra, KEYFLOW_PROJECT_FILE: file}})
}

describe('run: injection', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string
  let values: Record<string, string>
  const canaries = () => Object.values(values)
  /** Every canary check at once: keyflow's own output and every file but the dotenv file holding them. */
  const noLeaks = (result: {stderr: string; stdout: string}) => {
    assertNoCanary(result.stdout, canaries(), 'stdout')
    assertNoCanary(result.stderr, canaries(), 'stderr')
    assertNoCanaryInTree(home.path, canaries(), (path) => path === envFile)
  }

  beforeEach(() => {
    home = tempDir()
    env = baseEnv(home.path)
    values = {API_TOKEN: canary('token'), DB_PASSWORD: canary('password'), JSON_CREDS: '', SHORT: 'q7Z'}
    values.JSON_CREDS = JSON.stringify({ACCESS_KEY: canary('access'), SECRET_ACCESS_KEY: canary('secret-key')})
    envFile = join(home.path, 'secrets.env')
    writeFileSync(envFile, Object.entries(values).map(([key, value]) => `${key}='${value}'`).join('\n') + '\n', {mode: 0o600})
  })

  afterEach(() => home.cleanup())

  it('injects --secret NAME as PREFECT__CONTEXT__SECRETS__NAME only, by default', async () => {
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD', ...report(`${CONTEXT}DB_PASSWORD`, 'DB_PASSWORD')], {env})
    expect(result.code).to.equal(0)
    const {digests} = parseReport(result.stdout)
    expect(digests[`${CONTEXT}DB_PASSWORD`] === sha256(values.DB_PASSWORD)).to.equal(true)
    expect(digests.DB_PASSWORD).to.equal(null)
    noLeaks(result)
  })

  it('injects ALIAS=REFERENCE under the alias, and plain or both styles on request', async () => {
    for (const [style, names] of [['plain', ['PASS']], ['both', [`${CONTEXT}PASS`, 'PASS']], ['prefect', [`${CONTEXT}PASS`]]] as const) {
      // eslint-disable-next-line no-await-in-loop
      const result = await runCli(['run', '--env-file', envFile, '--env-style', style, '--secret', 'PASS=dotenv://DB_PASSWORD', ...report(`${CONTEXT}PASS`, 'PASS')], {env})
      expect(result.code).to.equal(0)
      const {digests} = parseReport(result.stdout)
      for (const name of [`${CONTEXT}PASS`, 'PASS']) {
        expect(digests[name] === ((names as readonly string[]).includes(name) ? sha256(values.DB_PASSWORD) : null), `${style} ${name}`).to.equal(true)
      }

      noLeaks(result)
    }
  })

  it('picks a key of a JSON secret with #KEY', async () => {
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'KEY=JSON_CREDS#SECRET_ACCESS_KEY', ...report(`${CONTEXT}KEY`)], {env})
    expect(result.code).to.equal(0)
    expect(parseReport(result.stdout).digests[`${CONTEXT}KEY`] === sha256(JSON.parse(values.JSON_CREDS).SECRET_ACCESS_KEY)).to.equal(true)
    noLeaks(result)
  })

  it('starts the child from PATH, HOME, USER, LANG, TERM, TMPDIR and the secrets with --pristine', async () => {
    const result = await runCli(['run', '--pristine', '--env-file', envFile, '--secret', 'DB_PASSWORD', ...report()], {
      env: {...env, SOMETHING_ELSE: 'x', TERM: 'xterm', TMPDIR: '/tmp', USER: 'someone'},
    })
    expect(result.code).to.equal(0)
    expect(parseReport(result.stdout).names).to.deep.equal(['HOME', 'LANG', 'PATH', `${CONTEXT}DB_PASSWORD`, 'TERM', 'TMPDIR', 'USER'])
    const inherited = await runCli(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD', ...report()], {env: {...env, SOMETHING_ELSE: 'x'}})
    expect(parseReport(inherited.stdout).names).to.include('SOMETHING_ELSE')
  })

  it('replaces an inherited variable of the same name and warns without showing either value', async () => {
    const inheritedValue = canary('inherited')
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD=dotenv://DB_PASSWORD', ...report(`${CONTEXT}DB_PASSWORD`)], {
      env: {...env, [`${CONTEXT}DB_PASSWORD`]: inheritedValue},
    })
    expect(result.code).to.equal(0)
    expect(parseReport(result.stdout).digests[`${CONTEXT}DB_PASSWORD`] === sha256(values.DB_PASSWORD)).to.equal(true)
    expect(result.stderr).to.include(`$${CONTEXT}DB_PASSWORD is already set in the environment`)
    assertNoCanary(result.stderr, [inheritedValue], 'stderr')
    noLeaks(result)
  })

  it('rejects plain names that are not valid environment variable names before anything runs', async () => {
    const marker = join(home.path, 'ran')
    const result = await runCli(['run', '--env-style', 'plain', '--env-file', envFile, '--secret', 'dotenv://bad-name', '--secret', '9LIVES=DB_PASSWORD', '--', 'touch', marker], {env})
    expect(result.code).to.equal(2)
    expect(result.stderr).to.include('2 names are not valid environment variable names for a plain variable')
    expect(result.stderr).to.include('"bad-name"')
    expect(result.stderr).to.include('"9LIVES=DB_PASSWORD"')
    expect(existsSync(marker)).to.equal(false)
  })

  it('lists every missing secret at once and runs nothing', async () => {
    const marker = join(home.path, 'ran')
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD', '--secret', 'MISSING_ONE', '--secret', 'MISSING_TWO', '--', 'touch', marker], {env})
    expect(result.code).to.equal(3)
    expect(result.stderr).to.include('2 problems: nothing was run.')
    expect(result.stderr).to.include('MISSING_ONE')
    expect(result.stderr).to.include('MISSING_TWO')
    expect(existsSync(marker)).to.equal(false)
    noLeaks(result)
  })

  it('refuses the same name injected twice', async () => {
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD', '--secret', 'DB_PASSWORD=API_TOKEN', '--', 'true'], {env})
    expect(result.code).to.equal(7)
    expect(result.stderr).to.include('DB_PASSWORD is injected by both --secret DB_PASSWORD and --secret DB_PASSWORD=API_TOKEN')
    noLeaks(result)
  })

  it('masks every injected value in piped stdout and stderr, split writes and JSON fields included', async () => {
    writeFileSync(join(home.path, 'keyflow.json'), JSON.stringify({run: {secrets: ['DB_PASSWORD', 'API_TOKEN', 'JSON_CREDS']}}))
    const names = ['DB_PASSWORD', 'API_TOKEN', 'JSON_CREDS'].map((name) => CONTEXT + name)
    const result = await runCli(['run', '--env-file', envFile, '--', 'sh', '-c', `node ${fixture('leak.mjs')} "$@"; echo "field: $(node -e 'console.log(JSON.parse(process.env.${CONTEXT}JSON_CREDS).SECRET_ACCESS_KEY)')"`, 'sh', ...names], {
      cwd: home.path,
      env: {...env, KEYFLOW_PROJECT_FILE: join(home.path, 'keyflow.json')},
    })
    expect(result.code).to.equal(0)
    expect(result.stdout).to.include('out: *****\n')
    expect(result.stdout).to.include('split: ***** end\n')
    expect(result.stdout).to.include('field: *****\n')
    expect(result.stderr).to.include('err: *****\n')
    noLeaks(result)
  })

  it('warns that values shorter than the minimum are not masked, without printing them', async () => {
    const result = await runCli(['run', '--env-file', envFile, '--secret', 'SHORT', '--secret', 'DB_PASSWORD', '--', 'true'], {env})
    expect(result.code).to.equal(0)
    expect(result.stderr).to.include('The value of SHORT is shorter than 4 bytes and will not be masked')
    expect(result.stderr.includes(values.SHORT)).to.equal(false)
  })

  it('does not mask with --mask never', async () => {
    const result = await runCli(['run', '--mask', 'never', '--env-file', envFile, '--secret', 'DB_PASSWORD', '--', process.execPath, fixture('leak.mjs'), `${CONTEXT}DB_PASSWORD`], {env})
    expect(result.code).to.equal(0)
    expect(result.stdout.includes(`out: ${values.DB_PASSWORD}\n`)).to.equal(true)
  })

  it('keeps every value out of the argv of keyflow and of the child', async () => {
    const keyflow = startKeyflow(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD', '--secret', 'API_TOKEN', '--', 'sh', '-c', 'echo "ready $$"; exec sleep 30'], env)
    const [, pid] = await keyflow.waitFor(/ready (\d+)/)
    for (const process_ of [keyflow.child.pid!, Number(pid)]) {
      assertNoCanary(readFileSync(`/proc/${process_}/cmdline`), canaries(), `argv of ${process_}`)
    }

    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1')
    expect(environ.includes(`${CONTEXT}DB_PASSWORD=${values.DB_PASSWORD}\0`)).to.equal(true)
    process.kill(-keyflow.child.pid!, 'SIGTERM')
    await keyflow.exited
    noLeaks({stderr: keyflow.stderr(), stdout: keyflow.stdout()})
  })

  describe('the project file', () => {
    it('declares secrets so that run needs no flags', async () => {
      const runIn = withProject(home.path, env, {
        envStyle: 'both',
        secrets: {API: 'API_TOKEN', DB_PASSWORD: {optional: false}, KEY: {ref: 'JSON_CREDS#ACCESS_KEY'}, NOT_THERE: {optional: true}},
      })
      const result = await runIn(['run', ...report('API', 'DB_PASSWORD', `${CONTEXT}KEY`, 'NOT_THERE')])
      expect(result.code).to.equal(0)
      const {digests} = parseReport(result.stdout)
      expect(digests.API === sha256(values.API_TOKEN)).to.equal(true)
      expect(digests.DB_PASSWORD === sha256(values.DB_PASSWORD)).to.equal(true)
      expect(digests[`${CONTEXT}KEY`] === sha256(JSON.parse(values.JSON_CREDS).ACCESS_KEY)).to.equal(true)
      expect(digests.NOT_THERE).to.equal(null)
      expect(result.stderr).to.include('optional secret "NOT_THERE"')
      noLeaks(result)
    })

    it('accepts the list form, and a flag replaces a declaration of the same name', async () => {
      const runIn = withProject(home.path, env, {secrets: ['DB_PASSWORD', 'TOKEN=API_TOKEN']})
      const result = await runIn(['run', '--secret', 'TOKEN=DB_PASSWORD', ...report(`${CONTEXT}TOKEN`, `${CONTEXT}DB_PASSWORD`)])
      expect(result.code).to.equal(0)
      const {digests} = parseReport(result.stdout)
      expect(digests[`${CONTEXT}TOKEN`] === sha256(values.DB_PASSWORD)).to.equal(true)
      expect(digests[`${CONTEXT}DB_PASSWORD`] === sha256(values.DB_PASSWORD)).to.equal(true)
    })

    it('fails with the place in the file when a declaration is malformed', async () => {
      const result = await withProject(home.path, env, {secrets: {DB: 42}})(['run', '--', 'true'])
      expect(result.code).to.equal(2)
      expect(result.stderr).to.include('run.secrets.DB')
      const malformed = await withProject(home.path, env, {secrets: ['DB_PASSWORD', 'KEY=JSON_CREDS#']})(['run', '--', 'true'])
      expect(malformed.code).to.equal(2)
      expect(malformed.stderr).to.include('run.secrets[1]: reference "JSON_CREDS#"')
      const unknown = await withProject(home.path, env, {secret: []})(['run', '--', 'true'])
      expect(unknown.code).to.equal(2)
      expect(unknown.stderr).to.include('Unknown key "secret" in the run section')
    })

    it('turns pristine and masking on from the file; flags override', async () => {
      const runIn = withProject(home.path, env, {mask: 'never', pristine: true, secrets: ['DB_PASSWORD']})
      const result = await runIn(['run', ...report()], {EXTRA: '1'})
      expect(parseReport(result.stdout).names).to.not.include('EXTRA')
      const overridden = await runIn(['run', '--no-pristine', '--mask', 'always', ...report()], {EXTRA: '1'})
      expect(parseReport(overridden.stdout).names).to.include('EXTRA')
    })
  })

  it('never writes a value to a file while running (canary rule)', async () => {
    const child = spawn(process.execPath, [BIN, 'run', '--env-file', envFile, '--secret', 'DB_PASSWORD', '--', process.execPath, fixture('leak.mjs'), `${CONTEXT}DB_PASSWORD`], {env, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    await new Promise((resolve) => {
      child.on('close', resolve)
    })
    await until(() => output.includes('end'), 'the child finished')
    assertNoCanary(output, canaries(), 'output')
    assertNoCanaryInTree(home.path, canaries(), (path) => path === envFile)
  })
})
