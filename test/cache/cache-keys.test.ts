import {expect} from 'chai'
import {describe, it} from 'mocha'
import {existsSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, CliResult, runCli} from '../support/cli.js'
import {faultProxyPerFile, motoClientPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

/**
 * Whose credentials a cached value was read with is part of its key (docs/cache.md), also when
 * no key id in the environment says it: a web-identity role (AWS_ROLE_ARN), and entries' locks
 * left by a process whose pid another process has since taken. Built CLI, moto behind the fault
 * proxy, which counts the calls that reach AWS.
 */
describe('cache keys and locks (moto)', () => {
  const moto = motoPerFile()
  const proxy = faultProxyPerFile(moto)
  const sm = motoClientPerFile(moto)
  const dir = tempDirPerTest()
  const value = canary('keyed')

  const cacheDir = () => join(dir.path, '.keyflow', 'cache')

  async function get(env: Record<string, string> = {}, flags: string[] = []): Promise<CliResult> {
    const result = await runCli(['secret', 'get', 'aws-sm://team/db', '--no-newline', '--cache-ttl', '10m', '--cache-max-stale', '1h', ...flags], {
      cwd: dir.path,
      env: {...baseEnv(dir.path), ...proxy.env, ...env},
    })
    assertNoCanary(result.stderr, [value], 'stderr')
    return result
  }

  /** A web-identity role's environment (moto's STS answers AssumeRoleWithWebIdentity), without keys. */
  function asRole(role: string): Record<string, string> {
    const token = join(dir.path, 'web-identity-token')
    writeFileSync(token, `eyJhbGciOiJub25lIn0.${Buffer.from('{"sub":"keyflow-test"}').toString('base64url')}.`, {mode: 0o600})
    const env: Record<string, string> = {...proxy.env, AWS_ROLE_ARN: `arn:aws:iam::123456789012:role/${role}`, AWS_ROLE_SESSION_NAME: 'keyflow-test', AWS_WEB_IDENTITY_TOKEN_FILE: token}
    delete env.AWS_ACCESS_KEY_ID
    delete env.AWS_SECRET_ACCESS_KEY
    return env
  }

  it("a web-identity role is never served another role's entry", async () => {
    await sm.create('team/db', value)
    const first = await get(asRole('team-a'))
    expect([first.code, first.stdout === value], first.stderr).to.deep.equal([0, true])
    expect(proxy.counts.GetSecretValue).to.equal(1)
    const again = await get(asRole('team-a'))
    expect(again.stdout === value).to.equal(true)
    expect(proxy.counts.GetSecretValue).to.equal(1)
    const other = await get(asRole('team-b'))
    expect(other.stdout === value, other.stderr).to.equal(true)
    expect(proxy.counts.GetSecretValue).to.equal(2)
    const offline = await get(asRole('team-c'), ['--offline'])
    expect(offline.code, offline.stderr).to.equal(4)
  })

  it("an entry's lock whose pid now belongs to a live process is broken once older than the wait", async () => {
    await sm.create('team/db', value)
    expect((await get()).code).to.equal(0)
    const entry = readdirSync(cacheDir()).find((name) => name.endsWith('.entry'))!
    rmSync(join(cacheDir(), entry))
    // pid 1 is alive (init); the lock says it was taken in 1970.
    const lock = join(cacheDir(), `${entry}.lock`)
    writeFileSync(lock, `1 ${hostname()} 1000 planted\n`, {mode: 0o600})
    const result = await get({}, ['--aws-connect-timeout', '500', '--aws-request-timeout', '500'])
    expect([result.code, result.stdout === value], result.stderr).to.deep.equal([0, true])
    // Broken and taken, then released: gone. Waited out instead, it would still be there.
    expect(existsSync(lock)).to.equal(false)
  })
})
