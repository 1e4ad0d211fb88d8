import {expect} from 'chai'
import {beforeEach, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, BIN} from '../support/cli.js'
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
      `import {appendFileSync} from 'node:fs'
const log = (line) => appendFileSync(${JSON.stringify(join(dir.path, 'events'))}, line + '\\n')
log('start ' + process.env.PREFECT__CONTEXT__SECRETS__S)
process.on('SIGTERM', () => { log('TERM'); process.exit(0) })
process.on('SIGHUP', () => log('HUP'))
setInterval(() => {}, 1000)
`,
    )
  })

  const events = () => (existsSync(join(dir.path, 'events')) ? readFileSync(join(dir.path, 'events'), 'utf8').trim().split('\n') : [])

  function start(flags: string[]) {
    const child = spawn(process.execPath, ['--', BIN, 'run', ...flags, '--secret', `S=${secretName}`, '--', process.execPath, join(dir.path, 'child.mjs')], {
      cwd: dir.path,
      env: {...baseEnv(dir.path), ...proxy.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const exited = new Promise<null | number>((resolve) => {
      child.on('close', (code) => resolve(code))
    })
    return {child, exited, stderr: () => stderr}
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
    await (await motoClient(moto)).put(secretName, canary('after'))
    await until(() => events().length === 2)
    expect(events()).to.deep.equal([`start ${seen.at(-1)}`, 'HUP'])
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
