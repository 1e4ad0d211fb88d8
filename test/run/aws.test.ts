import {expect} from 'chai'
import {before, beforeEach, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, runCli} from '../support/cli.js'
import {motoClient} from '../support/moto.js'
import {fixture, parseReport, sha256} from '../support/run-child.js'
import {countingProxyPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

const CONTEXT = 'PREFECT__CONTEXT__SECRETS__'

describe('run: AWS Secrets Manager (moto)', () => {
  const moto = motoPerFile()
  const proxy = countingProxyPerFile(moto)
  const home = tempDirPerTest()
  let client: Awaited<ReturnType<typeof motoClient>>
  let env: Record<string, string>

  before(async () => {
    client = await motoClient(moto)
  })

  beforeEach(() => {
    env = {...baseEnv(home.path), ...moto.env, AWS_ENDPOINT_URL: proxy.url}
  })

  it('resolves 100 secrets in at most 5 API calls and injects them all', async () => {
    const names = Array.from({length: 100}, (_, index) => `APP_SECRET_${String(index).padStart(3, '0')}`)
    const values = names.map((name) => canary(name.toLowerCase()))
    await client.createMany(names.map((name, index) => [name, values[index]]))
    proxy.reset()
    const result = await runCli(['run', ...names.flatMap((name) => ['--secret', name]), '--', process.execPath, fixture('report.mjs'), ...names.map((name) => CONTEXT + name)], {env})
    expect(result.code, result.stderr).to.equal(0)
    expect(proxy.total()).to.be.at.most(5)
    expect(proxy.counts.get('secretsmanager.BatchGetSecretValue')).to.equal(5)
    const {digests} = parseReport(result.stdout)
    expect(names.every((name, index) => digests[CONTEXT + name] === sha256(values[index]))).to.equal(true)
    assertNoCanary(result.stdout + result.stderr, values, 'keyflow output')
  })

  it('keeps stderr clean with many calls in flight under one deadline (no listener-leak warning)', async () => {
    // 12 BatchGetSecretValue calls at once, each listening to the deadline's abort signal.
    const names = Array.from({length: 240}, (_, index) => `MANY_${String(index).padStart(3, '0')}`)
    await client.createMany(names.map((name) => [name, canary(name.toLowerCase())]))
    proxy.reset()
    const result = await runCli(['run', ...names.flatMap((name) => ['--secret', name]), '--', 'true'], {env})
    expect(result.code, result.stderr).to.equal(0)
    expect(proxy.counts.get('secretsmanager.BatchGetSecretValue')).to.equal(12)
    expect(result.stderr).to.equal('')
  })

  it('uses GetSecretValue only for a pinned version', async () => {
    const value = canary('pinned')
    await client.create('pinned-secret', value)
    await client.create('UNPINNED_A', canary('a'))
    await client.create('UNPINNED_B', canary('b'))
    proxy.reset()
    const result = await runCli(['run', '--secret', 'PINNED=aws-sm://pinned-secret?stage=AWSCURRENT', '--secret', 'UNPINNED_A', '--secret', 'UNPINNED_B', '--', process.execPath, fixture('report.mjs'), `${CONTEXT}PINNED`], {env})
    expect(result.code, result.stderr).to.equal(0)
    expect(proxy.counts.get('secretsmanager.GetSecretValue')).to.equal(1)
    expect(proxy.counts.get('secretsmanager.BatchGetSecretValue')).to.equal(1)
    expect(parseReport(result.stdout).digests[`${CONTEXT}PINNED`] === sha256(value)).to.equal(true)
  })

  it('injects every key of a --source JSON object, Metaflow style', async () => {
    const password = canary('source-password')
    await client.create('app/env', JSON.stringify({'db-host': 'db.internal', DB_PASSWORD: password, 'feature.flag': true, port: 5432}))
    const result = await runCli(['run', '--source', 'app/env', '--', process.execPath, fixture('report.mjs'), 'db_host', 'DB_PASSWORD', 'feature_flag', 'port'], {env})
    expect(result.code, result.stderr).to.equal(0)
    const {digests} = parseReport(result.stdout)
    expect(digests.db_host).to.equal(sha256('db.internal'))
    expect(digests.DB_PASSWORD === sha256(password)).to.equal(true)
    expect(digests.feature_flag).to.equal(sha256('true'))
    expect(digests.port).to.equal(sha256('5432'))
    assertNoCanary(result.stdout + result.stderr, [password], 'keyflow output')
  })

  it('refuses the same key from two sources, bad keys and non-objects, listing all, running nothing', async () => {
    const password = canary('dup')
    await client.create('first', JSON.stringify({SHARED: password}))
    await client.create('second', JSON.stringify({'1bad': 'x', SHARED: 'other'}))
    await client.create('not-an-object', JSON.stringify(['a']))
    await client.create('not-json', `{${password}`)
    const marker = join(home.path, 'ran')
    const result = await runCli(['run', '--source', 'first', '--source', 'second', '--source', 'not-an-object', '--source', 'not-json', '--', 'touch', marker], {env})
    expect(result.code).to.equal(5)
    expect(result.stderr).to.include('4 problems: nothing was run.')
    expect(result.stderr).to.include('SHARED is injected by both --source first and --source second')
    expect(result.stderr).to.include('Key "1bad" is not a valid environment variable name')
    expect(result.stderr).to.include('not an array')
    expect(result.stderr).to.include('this one is not JSON')
    expect(existsSync(marker)).to.equal(false)
    assertNoCanary(result.stdout + result.stderr, [password], 'keyflow output')
  })

  it('reads sources and secrets from the project file, optional ones included', async () => {
    const token = canary('project-token')
    await client.create('team/shared', JSON.stringify({TOKEN: token}))
    const file = join(home.path, 'keyflow.json')
    const {writeFileSync} = await import('node:fs')
    writeFileSync(file, JSON.stringify({run: {sources: ['team/shared', {id: 'team/absent', optional: true}]}}))
    // Sources are plain variables by default, as Metaflow sets them.
    const result = await runCli(['run', '--', process.execPath, fixture('report.mjs'), 'TOKEN', `${CONTEXT}TOKEN`], {cwd: home.path, env: {...env, KEYFLOW_PROJECT_FILE: file}})
    expect(result.code, result.stderr).to.equal(0)
    expect(parseReport(result.stdout).digests.TOKEN === sha256(token)).to.equal(true)
    expect(parseReport(result.stdout).digests[`${CONTEXT}TOKEN`]).to.equal(null)
    expect(result.stderr).to.include('optional source "aws-sm://team/absent"')
    expect(proxy.counts.get('secretsmanager.BatchGetSecretValue')).to.equal(1)
  })

  it('masks through the FIFOs mkfifo made without waiting for it to exit (one that hangs after making them)', async () => {
    // The FIFOs are made while AWS answers (far longer than mkfifo takes); this mkfifo then hangs.
    const real = spawnSync('sh', ['-c', 'command -v mkfifo'], {encoding: 'utf8'}).stdout.trim()
    const bin = join(home.path, 'bin')
    const pidFile = join(home.path, 'mkfifo.pid')
    const tmp = join(home.path, 'tmp')
    mkdirSync(bin)
    mkdirSync(tmp, {mode: 0o700})
    writeFileSync(join(bin, 'mkfifo'), `#!/bin/sh\n"${real}" "$@" || exit\necho $$ > "${pidFile}"\nexec sleep 300\n`)
    chmodSync(join(bin, 'mkfifo'), 0o755)
    const value = canary('hung-mkfifo')
    await client.create('hung-mkfifo', value)
    try {
      const result = await runCli(['run', '--secret', 'T=hung-mkfifo', '--env-style', 'plain', '--', 'sh', '-c', 'echo "out $T" > /dev/stdout; echo "err $T" > /dev/stderr'], {
        // A temporary directory of its own: no spares made ahead by other runs (FifoStash), so this run starts mkfifo.
        env: {...env, PATH: `${bin}:${env.PATH}`, TMPDIR: tmp},
        timeoutMs: 30_000,
      })
      expect([result.code, result.stdout, result.stderr]).to.deep.equal([0, 'out *****\n', 'err *****\n'])
      expect(existsSync(pidFile), 'the hanging mkfifo ran').to.equal(true)
    } finally {
      if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL')
    }
  })

  it('injects a binary secret base64-encoded, as Metaflow does, and says so without the value (--secret and --source)', async () => {
    const text = canary('binary')
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xfe]), Buffer.from(text), Buffer.from([0x80, 10])])
    const encoded = bytes.toString('base64')
    await client.create('certs/client.p12', bytes)
    const result = await runCli(
      ['run', '--secret', 'CERT=certs/client.p12', '--source', 'aws-sm://certs/client.p12', '--env-style', 'plain', '--', process.execPath, fixture('report.mjs'), 'CERT', 'certs_client_p12'],
      {env},
    )
    expect(result.code, result.stderr).to.equal(0)
    const {digests} = parseReport(result.stdout)
    expect(digests.CERT === sha256(encoded) && digests.certs_client_p12 === sha256(encoded)).to.equal(true)
    expect(result.stderr).to.match(/secret "certs\/client\.p12" is binary: CERT gets it base64-encoded/)
    expect(result.stderr).to.match(/source "aws-sm:\/\/certs\/client\.p12" is binary: certs_client_p12 gets it base64-encoded/)
    assertNoCanary(result.stdout + result.stderr, [text, encoded], 'keyflow output')
  })
})
