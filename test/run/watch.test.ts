import {expect} from 'chai'
import {beforeEach, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, BIN, ROOT} from '../support/cli.js'
import {UNAVAILABLE} from '../support/fault-proxy.js'
import {motoClient} from '../support/moto.js'
import {faultProxyPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, 100)
    })
  }
}

/**
 * `keyflow run --watch` against moto behind the fault proxy: a rotation (PutSecretValue) is
 * seen by a poll, and the command is restarted with the new value, or only signalled with
 * --watch-reload; failed polls never touch the command. The child writes a line per start and
 * per signal to a file (its output is masked); tests wait for lines, never for a time.
 */
describe('run --watch', () => {
  const moto = motoPerFile({resetEachTest: false})
  const proxy = faultProxyPerFile(moto)
  const dir = tempDirPerTest()
  let secretName: string
  const seen: string[] = []

  beforeEach(async () => {
    secretName = `watched-${seen.length}`
    const value = canary('before')
    seen.push(value)
    await (await motoClient(moto)).create(secretName, value)
    writeFileSync(
      join(dir.path, 'child.mjs'),
      `import {appendFileSync, readFileSync} from 'node:fs'
const log = (line) => appendFileSync(${JSON.stringify(join(dir.path, 'events'))}, line + '\\n')
log('start ' + process.env.PREFECT__CONTEXT__SECRETS__S)
process.on('SIGTERM', () => { log('TERM'); process.exit(0) })
process.on('SIGHUP', () => {
  // A program that reloads re-reads its configuration (here a file the test writes) and may print what it got.
  console.log('reloaded ' + readFileSync(${JSON.stringify(join(dir.path, 'reloaded'))}, 'utf8') + ' was ' + process.env.PREFECT__CONTEXT__SECRETS__S)
  log('HUP')
})
setInterval(() => {}, 1000)
`,
    )
  })

  const events = () => (existsSync(join(dir.path, 'events')) ? readFileSync(join(dir.path, 'events'), 'utf8').trim().split('\n') : [])

  function start(flags: string[], declarations = ['--secret', `S=${secretName}`], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, ['--', BIN, 'run', ...flags, ...declarations, '--', process.execPath, join(dir.path, 'child.mjs')], {
      cwd: dir.path,
      env: {...baseEnv(dir.path), ...proxy.env, ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    let stdout = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    const exited = new Promise<null | number>((resolve) => {
      child.on('close', (code) => resolve(code))
    })
    return {child, exited, stderr: () => stderr, stdout: () => stdout}
  }

  it('a rotation restarts the command with the new value (TERM, then start); the final exit is the last child\'s', async () => {
    proxy.reset()
    const run = start(['--watch=5s'])
    await until(() => events().length === 1)
    const rotated = canary('after')
    await (await motoClient(moto)).put(secretName, rotated)
    await until(() => events().length === 3)
    expect(events()).to.deep.equal([`start ${seen.at(-1)}`, 'TERM', `start ${rotated}`])
    expect(run.stderr()).to.match(new RegExp(`--watch: "${secretName}" changed in AWS; resolving again\\.\\nWarning: --watch: restarting the command with the new values \\(SIGTERM, then SIGKILL after 10s\\)`))
    expect(proxy.counts.ListSecrets).to.be.greaterThan(0)
    run.child.kill('SIGTERM')
    expect(await run.exited).to.equal(0)
    assertNoCanary(run.stderr(), [...seen, rotated], 'stderr')
  })

  it('--watch-signal HUP --watch-reload signals without restarting', async () => {
    proxy.reset()
    const run = start(['--watch=5s', '--watch-signal', 'HUP', '--watch-reload'])
    await until(() => events().length === 1)
    const rotated = canary('after')
    writeFileSync(join(dir.path, 'reloaded'), rotated)
    await (await motoClient(moto)).put(secretName, rotated)
    await until(() => events().length === 2)
    expect(events()).to.deep.equal([`start ${seen.at(-1)}`, 'HUP'])
    run.child.kill('SIGTERM')
    expect(await run.exited).to.equal(0)
    // The masker follows the rotation: the new value is masked, and the old one still is.
    assertNoCanary(run.stdout() + run.stderr(), [seen.at(-1)!, rotated], 'output')
    expect(run.stdout()).to.equal('reloaded ***** was *****\n')
  })

  it("polls a source where it was read: its own region (options.region), not the run's", async () => {
    proxy.reset()
    const {sdk} = await motoClient(moto)
    const europe = new sdk.SecretsManagerClient({credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'}, endpoint: moto.url, maxAttempts: 1, region: 'eu-west-1'})
    const farName = `${secretName}-far`
    await europe.send(new sdk.CreateSecretCommand({Name: farName, SecretString: seen.at(-1)}))
    // eslint-disable-next-line camelcase -- Metaflow's option name
    const source = {envStyle: 'prefect', id: farName, options: {env_var_name: 'S', json: false, region: 'eu-west-1'}}
    const run = start(['--watch=5s'], ['--source', JSON.stringify(source)])
    await until(() => events().length === 1)
    const rotated = canary('after')
    await europe.send(new sdk.PutSecretValueCommand({SecretId: farName, SecretString: rotated}))
    await until(() => events().length === 3)
    expect(events()).to.deep.equal([`start ${seen.at(-1)}`, 'TERM', `start ${rotated}`])
    expect(proxy.countsByRegion['eu-west-1 ListSecrets']).to.be.greaterThan(0)
    expect(proxy.countsByRegion['us-east-1 ListSecrets']).to.equal(undefined)
    run.child.kill('SIGTERM')
    expect(await run.exited).to.equal(0)
    assertNoCanary(run.stderr(), [...seen, rotated], 'stderr')
  })

  it('the polls keep to a monotonic clock: a wall clock stepped back again and again holds none of them', async () => {
    proxy.reset()
    // The first poll's wait is reckoned at the watch's start; each later one's from the clock
    // at the poll before it, which by then the preload has set back hours (on Date.now, the
    // second poll would wait that long, and this test time out).
    const run = start(['--watch=5s'], undefined, {NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'wall-clock-back.cjs')}`})
    await until(() => (proxy.counts.ListSecrets ?? 0) >= 2)
    expect(events()).to.deep.equal([`start ${seen.at(-1)}`])
    run.child.kill('SIGTERM')
    expect(await run.exited).to.equal(0)
  })

  it('failed polls are retried with backoff and never stop the command', async () => {
    proxy.reset([{fault: UNAVAILABLE, operation: 'ListSecrets'}])
    const run = start(['--watch=5s', '--aws-max-attempts', '1'])
    await until(() => (run.stderr().match(/polling AWS for new versions failed/g) ?? []).length >= 2)
    expect(events()).to.deep.equal([`start ${seen.at(-1)}`])
    expect(run.stderr()).to.match(/retrying in 1s\. The command keeps running\./)
    run.child.kill('SIGTERM')
    expect(await run.exited).to.equal(0)
  })

  it('bad --watch values are usage errors (exit 2)', async () => {
    for (const flags of [['--watch=1s'], ['--watch=soon'], ['--watch', '--watch-signal', 'NOPE'], ['--watch-reload']]) {
      const run = start(flags)
      // eslint-disable-next-line no-await-in-loop
      expect(await run.exited).to.equal(2)
    }

    expect(events()).to.deep.equal([])
  })
})
