import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {copyFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {baseEnv, ROOT, runCli, tempDir} from '../support/cli.js'

const FLOWS = [
  {command: ['python3', join(ROOT, 'examples', 'prefect1-flow', 'flow.py')], name: 'prefect1-flow'},
  {command: [process.execPath, join(ROOT, 'examples', 'node-flow', 'flow.mjs')], name: 'node-flow'},
]
const hasPython = spawnSync('python3', ['--version'], {stdio: 'ignore'}).status === 0

describe('run: example flows', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string
  let values: string[]

  beforeEach(() => {
    home = tempDir()
    env = baseEnv(home.path)
    values = [canary('db'), canary('api')]
    envFile = join(home.path, 'secrets.env')
    writeFileSync(envFile, `DB_PASSWORD=${values[0]}\nAPI_TOKEN=${values[1]}\n`, {mode: 0o600})
  })

  afterEach(() => home.cleanup())

  for (const flow of FLOWS) {
    it(`runs ${flow.name} with secrets from --env-file, masking its careless log line`, async function () {
      if (flow.name === 'prefect1-flow' && !hasPython) this.skip()
      const result = await runCli(['run', '--env-file', envFile, '--secret', 'DB_PASSWORD', '--secret', 'API_TOKEN', '--', ...flow.command], {env})
      expect(result.code, result.stderr).to.equal(0)
      expect(result.stdout).to.include(`${flow.name}: 2 context secrets available`)
      expect(result.stdout).to.include(`${flow.name}: connecting with password *****`)
      expect(result.stdout).to.match(new RegExp(`extract -> {"password_?[Ll]ength": ?${values[0].length}`))
      assertNoCanary(result.stdout + result.stderr, values, 'keyflow output')
      assertNoCanaryInTree(home.path, values, (path) => path === envFile)
    })

    it(`runs ${flow.name} from the project file with no flags, and fails cleanly without its secrets`, async function () {
      if (flow.name === 'prefect1-flow' && !hasPython) this.skip()
      const project = join(home.path, 'keyflow.json')
      copyFileSync(join(ROOT, 'examples', 'quickstart', 'keyflow.json'), project)
      const projectEnv = {...env, KEYFLOW_ENV_FILES: envFile, KEYFLOW_PROJECT_FILE: project}
      const result = await runCli(['run', '--', ...flow.command], {cwd: home.path, env: projectEnv})
      expect(result.code, result.stderr).to.equal(0)
      expect(result.stdout).to.include(`${flow.name}: connecting with password *****`)
      assertNoCanary(result.stdout + result.stderr, values, 'keyflow output')

      writeFileSync(envFile, `DB_PASSWORD=${values[0]}\n`, {mode: 0o600})
      const missing = await runCli(['run', '--', ...flow.command], {cwd: home.path, env: projectEnv})
      expect(missing.code).to.equal(3)
      expect(missing.stderr).to.include('API_TOKEN')
      expect(missing.stdout).to.equal('')
    })
  }

  it('npm run demo: runs the quickstart from a clean tree and removes its secrets file', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('keyflow-demo-'))
    const result = spawnSync(process.execPath, [join(ROOT, 'examples', 'quickstart', 'demo.mjs')], {encoding: 'utf8', env: {...env, TMPDIR: home.path}})
    expect(result.status, result.stderr).to.equal(0)
    // A showcase: no warning, and each step of the tour.
    expect(result.stderr).to.equal('')
    expect(result.stdout).to.match(/3\. dotenv\s+hit\s+found (in )?\S+secrets\.env:1/)
    expect(result.stdout).to.include('Created block secret/demo-token (revision 1).')
    expect(result.stdout).to.match(/^value\s+\*{8}$/m)
    expect(result.stdout).to.include('node-flow: 3 context secrets available')
    expect(result.stdout).to.include('node-flow: connecting with password *****')
    expect(readdirSync(home.path).filter((name) => name.startsWith('keyflow-demo-'))).to.deep.equal([])
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('keyflow-demo-'))).to.deep.equal(before)
  })
})
