import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, BIN, OCLIF_ENTRY, ROOT, runCli, tempDir} from '../support/cli.js'
import {freePort} from '../support/ports.js'

/** A child that prints a variable, so a test sees what reached it (masked or not). */
const printf = (variable: string) => ['sh', '-c', `printf '%s|' "$${variable}"`]

/**
 * Exit codes are the contract scripts rely on: the same code with and without --json, and on
 * both of bin/run.js's paths (the fast path for secret get and run, and oclif, which oclif 4
 * alone would turn into 1 under --json). The differential test runs a matrix of argv through
 * both paths and wants identical stdout, stderr and exit codes.
 */
describe('exit codes and the fast path', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const value = canary('exit')
  const jsonValue = canary('json')

  before(async () => {
    dir = tempDir()
    writeFileSync(join(dir.path, '.env'), `FROM_FILE='${value}'\nEMPTY=\n`)
    env = {
      ...baseEnv(dir.path),
      DEAD_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      JSON_SECRET: JSON.stringify({db: {password: jsonValue}}),
      PLAIN: value,
    }
  })

  after(() => dir.cleanup())

  const entries = [
    ['fast path (bin/run.js)', BIN],
    ['oclif path', OCLIF_ENTRY],
  ] as const

  const unreachableAws = () => ({
    ...env,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_ENDPOINT_URL: env.DEAD_ENDPOINT,
    AWS_REGION: 'us-east-1',
    AWS_SECRET_ACCESS_KEY: 'testing',
  })

  const cases: Array<{args: string[]; awsDown?: boolean; code: number; env?: Record<string, string>; what: string}> = [
    {args: ['PLAIN'], code: 0, what: 'a hit'},
    {args: ['--bogus', 'PLAIN'], code: 2, what: 'an unknown flag'},
    {args: ['bad ref'], code: 2, what: 'a malformed reference'},
    {args: ['PLAIN', '--sources', 'env,vault'], code: 2, what: 'an unknown source'},
    {args: ['PLAIN', '--format', 'yaml'], code: 2, what: 'an unknown format'},
    {args: ['PLAIN', '--aws-max-attempts', '0'], code: 2, what: 'a flag value out of range'},
    {args: ['NOPE', '--sources', 'env,dotenv'], code: 3, what: 'not found'},
    // Given as KEYFLOW_ENV_FILES: Node 20 itself exits 9 on `--env-file MISSING` anywhere in argv (nodejs/node#54232).
    {args: ['FROM_FILE', '--sources', 'dotenv'], code: 4, env: {KEYFLOW_ENV_FILES: 'missing.env'}, what: 'a missing env file'},
    {args: ['NOPE', '--sources', 'aws', '--aws-max-attempts', '1'], awsDown: true, code: 4, what: 'an unreachable AWS'},
    {args: ['PLAIN#key'], code: 5, what: 'a key of a value that is not JSON'},
    {args: ['JSON_SECRET#db.user'], code: 5, what: 'a missing key'},
  ]

  for (const [label, script] of entries) {
    describe(label, () => {
      for (const {args, awsDown, code, env: extra, what} of cases) {
        it(`${what}: exit ${code}, with and without --json`, async () => {
          const argv = ['secret', 'get', ...args]
          const options = {cwd: dir.path, env: {...(awsDown ? unreachableAws() : env), ...extra}, script}
          const [human, json] = await Promise.all([runCli(argv, options), runCli([...argv, '--json'], options)])
          expect(human.code).to.equal(code)
          expect(json.code).to.equal(code)
          for (const result of [human, json]) assertNoCanary(result.stderr, [value, jsonValue], `stderr of ${what}`)
          if (code === 0) {
            expect(JSON.parse(json.stdout).secrets[0].value === value).to.equal(true)
            expect(json.stderr).to.equal('')
          } else {
            expect(human.stdout).to.equal('')
            expect(json.stdout).to.equal('')
            expect(human.stderr).to.match(/^Error: /)
            expect(human.stderr).to.not.match(/\n\s+at /)
            const {error} = JSON.parse(json.stderr)
            expect(error.exit).to.equal(code)
            expect(error.message).to.be.a('string')
          }
        })
      }
    })
  }

  it('--explain prints the trace on stdout and still exits with the failure code', async () => {
    for (const [, script] of entries) {
      const options = {cwd: dir.path, env: {...env, KEYFLOW_ENV_FILES: 'missing.env'}, script}
      // eslint-disable-next-line no-await-in-loop
      const [notFound, failed] = await Promise.all([
        runCli(['secret', 'get', 'NOPE', '--explain', '--sources', 'env'], options),
        runCli(['secret', 'get', 'NOPE', '--explain', '--sources', 'env,dotenv', '--json'], options),
      ])
      expect([notFound.code, failed.code]).to.deep.equal([3, 4])
      expect(notFound.stdout).to.match(/^NOPE\n {2}1\. env +miss +\$NOPE is not set\n {2}=> Secret "NOPE" was not found/)
      expect(JSON.parse(failed.stdout).secrets[0].trace.map((step: {outcome: string}) => step.outcome)).to.deep.equal(['miss', 'failure'])
    }
  })

  it('a reader that goes away (| head -c 1) ends keyflow quietly with exit 0, on both paths', () => {
    // 120 KiB: more than a pipe holds, so keyflow is still writing when head exits.
    const big = {...env, BIG: 'x'.repeat(120 * 1024)}
    for (const [, script] of entries) {
      const result = spawnSync('bash', ['-c', `"${process.execPath}" -- "${script}" secret get BIG | head -c 1 >/dev/null; echo "status \${PIPESTATUS[0]}"`], {cwd: dir.path, encoding: 'utf8', env: big})
      expect(result.stdout).to.equal('status 0\n')
      expect(result.stderr).to.equal('')
    }
  })

  it('output that cannot be written (stdout on /dev/full) is exit 74 with one line saying so, on both paths and for oclif commands', () => {
    const value = canary('full')
    const commands = [...entries.map(([, script]) => [script, 'secret', 'get', 'FULL']), [BIN, 'block', 'ls'], [BIN, 'block', 'type', 'ls', '--json']]
    for (const args of commands) {
      const result = spawnSync('bash', ['-c', '"$0" -- "$@" > /dev/full', process.execPath, ...args], {cwd: dir.path, encoding: 'utf8', env: {...env, FULL: value}})
      expect(result.status, `${args.slice(1).join(' ')}: ${result.stderr}`).to.equal(74)
      expect(result.stderr, args.slice(1).join(' ')).to.match(/Cannot write the output: no space left on device\./)
      expect(result.stderr).not.to.match(/^\s+at /m)
      expect(result.stderr.length, 'no source line dumped').to.be.below(600)
      assertNoCanary(result.stderr, [value], 'stderr')
    }
  })

  // A failing command writes nothing to stdout, so on a full disk its own exit code stands. oclif's
  // path answered 74, for output that was never there: oclif's flush() and bin/run.js's drain
  // wrote '' to stdout, which fails on /dev/full (ENOSPC).
  const toFull = (script: string, args: string[]) =>
    spawnSync('bash', ['-c', '"$0" -- "$@" > /dev/full', process.execPath, script, ...args], {cwd: dir.path, encoding: 'utf8', env, timeout: 30_000})

  it('a failure with stdout on /dev/full keeps its exit code: secret get NOPE is exit 3 and one error on both paths', () => {
    const [fast, oclif] = entries.map(([, script]) => toFull(script, ['secret', 'get', 'NOPE', '--sources', 'env']))
    expect(fast.status).to.equal(3)
    expect({code: oclif.status, stderr: oclif.stderr}).to.deep.equal({code: fast.status, stderr: fast.stderr})
  })

  for (const [args, code] of [
    [['block', 'inspect', 'secret/nope'], 3],
    [['secret', 'get', 'PLAIN', '--bogus'], 2],
  ] as const) {
    it(`keyflow ${args.join(' ')} with stdout on /dev/full: exit ${code}, not 74`, () => {
      const result = toFull(BIN, [...args])
      expect(result.stderr).to.not.match(/Cannot write the output/)
      expect(result.status).to.equal(code)
    })
  }

  it('a failure ends keyflow once it is reported, on both of bin/run.js\'s paths: work left behind (a retry backoff) does not keep it running', async function () {
    // The preloaded timer would keep a process alive for a minute; this test's timeout is far less.
    this.timeout(30_000)
    const preload = {...env, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'lingering-timer.cjs')}`}
    const failures = [
      {args: ['secret', 'get', 'NOPE', '--sources', 'env'], message: 'Secret "NOPE" was not found'},
      {args: ['block', 'inspect', 'secret/nope'], message: 'secret/nope'},
    ]
    for (const {args, message} of failures) {
      // eslint-disable-next-line no-await-in-loop -- one path after the other
      const result = await runCli(args, {cwd: dir.path, env: preload})
      expect(result.code, result.stderr).to.equal(3)
      expect(result.stderr).to.contain(message)
    }
  })

  it('a missing argument is a usage error on both paths (oclif owns that message)', async () => {
    const results = await Promise.all(entries.map(([, script]) => runCli(['secret', 'get'], {cwd: dir.path, env, script})))
    expect(results.map((result) => result.code)).to.deep.equal([2, 2])
    expect(results[0].stderr).to.equal(results[1].stderr)
  })

  it('--version, as text or JSON, is the same on both paths (src/lib/cli/version.ts)', async () => {
    const lines = [['--version'], ['--version', '--json'], ['--json', '--version'], ['--version', 'extra'], ['--help', '--version'], ['-v']]
    for (const argv of lines) {
      // eslint-disable-next-line no-await-in-loop -- two at a time is enough on a shared machine
      const [fast, oclif] = await Promise.all(entries.map(([, script]) => runCli(argv, {cwd: dir.path, env, script})))
      expect({code: fast.code, stderr: fast.stderr, stdout: fast.stdout}, argv.join(' ')).to.deep.equal({code: oclif.code, stderr: oclif.stderr, stdout: oclif.stdout})
    }

    const asJson = await Promise.all(entries.map(([, script]) => runCli(['--version'], {cwd: dir.path, env: {...env, KEYFLOW_CONTENT_TYPE: 'json'}, script})))
    expect(asJson[0].stdout).to.equal(asJson[1].stdout)
    expect(JSON.parse(asJson[0].stdout)).to.include({name: 'keyflow', node: process.version})
  })

  it('an integer flag given a non-number is a usage error on both paths, in the same words', async () => {
    // Both paths leave the check to the settings engine (lib/cli/resolver-flags.ts).
    const argv = ['secret', 'get', 'PLAIN', '--aws-request-timeout', 'ten']
    const results = await Promise.all(entries.map(([, script]) => runCli(argv, {cwd: dir.path, env, script})))
    expect(results.map((result) => result.code)).to.deep.equal([2, 2])
    expect(results[0].stderr).to.equal(results[1].stderr).and.to.match(/Expected a whole number/)
  })

  // The same values accepted on both paths (` 3`, as KEYFLOW_* variables are read): oclif's
  // Flags.integer refused them, and worded its refusals its own way.
  for (const argv of [
    ['secret', 'get', 'PLAIN', '--aws-max-attempts', ' 3'],
    ['secret', 'get', 'PLAIN', '--aws-connect-timeout', '3000 '],
    ['run', '--secret', 'PLAIN', '--aws-request-timeout', '\n5000', '--', 'true'],
  ]) {
    it(`keyflow ${JSON.stringify(argv)}: accepted on both paths`, async () => {
      const [fast, oclif] = await Promise.all(entries.map(([, script]) => runCli(argv, {cwd: dir.path, env, script})))
      expect([fast.code, oclif.code], fast.stderr + oclif.stderr).to.deep.equal([0, 0])
    })
  }

  it('secret get PLAIN --aws-max-attempts 0: the same stderr on both paths', async () => {
    const [fast, oclif] = await Promise.all(entries.map(([, script]) => runCli(['secret', 'get', 'PLAIN', '--aws-max-attempts', '0'], {cwd: dir.path, env, script})))
    expect(fast.stderr).to.equal(oclif.stderr).and.to.match(/Expected a whole number from 1 to 20/)
  })

  describe('differential: the fast path and oclif give identical stdout, stderr and exit code', () => {
    const matrix: string[][] = [
      ['PLAIN'],
      ['PLAIN', '--no-newline'],
      ['PLAIN', '--newline'],
      ['PLAIN', '--base64'],
      ['PLAIN', '--json'],
      ['PLAIN', '--explain'],
      ['PLAIN', '--explain', '--json'],
      ['PLAIN', 'FROM_FILE', 'EMPTY'],
      ['PLAIN', 'FROM_FILE', 'EMPTY', '--format', 'env'],
      ['PLAIN', 'FROM_FILE', '-f', 'json'],
      ['PLAIN', 'FROM_FILE', '-fshell'],
      ['PLAIN', 'FROM_FILE', '--format=shell'],
      ['A=PLAIN', 'B=JSON_SECRET#db.password', '--format', 'env'],
      ['JSON_SECRET#/db/password'],
      ['env://PLAIN', '--sources', 'dotenv'],
      ['dotenv://FROM_FILE', '--sources=env'],
      ['FROM_FILE', '--env-file', '.env', '--env-file', 'other.env', '--sources', 'dotenv,env'],
      ['--sources', 'env', 'PLAIN'],
      ['--', 'PLAIN'],
      ['PLAIN', '--', '--json'],
      ['NOPE'],
      ['NOPE', '--json'],
      ['NOPE', '--explain'],
      ['PLAIN', 'NOPE', 'PLAIN#k', '--format', 'json'],
      ['PLAIN', '--bogus'],
      ['PLAIN', '--no-base64'],
      ['PLAIN', '--format'],
      ['PLAIN', '--format', 'json', '--format', 'env'],
      ['PLAIN', '--region', ''],
      ['PLAIN', '--prefix=p/', '--region=eu-west-1', '--aws-retry-mode', 'adaptive'],
      ['PLAIN', '--aws-retry-mode', 'legacy'],
      ['PLAIN', '-x'],
      ['-'],
      ['bad ref', '--json'],
      ['aws-sm://x?color=red'],
      ['1BAD=PLAIN', '--format', 'shell'],
      ['PLAIN', '--help'],
    ]
    const environments: Array<[string[], Record<string, string>]> = [
      [['PLAIN'], {KEYFLOW_CONTENT_TYPE: 'json'}],
      [['NOPE'], {KEYFLOW_CONTENT_TYPE: 'json'}],
      [['NOPE'], {FORCE_COLOR: '1', NO_COLOR: ''}],
      [['PLAIN', '--explain'], {KEYFLOW_AWS_PREFIX: 'p/', KEYFLOW_SOURCES: 'dotenv,env'}],
      [['PLAIN'], {KEYFLOW_SOURCES: 'vault'}],
      [['PLAIN'], {KEYFLOW_DEBUG: '1'}],
    ]
    const runs: Array<[string[], Record<string, string>]> = [...matrix.map((args): [string[], Record<string, string>] => [args, {}]), ...environments]
    for (const [args, extra] of runs) {
      const label = Object.entries(extra).map(([key, value]) => `${key}=${value} `).join('')
      it(`${label}secret get ${args.join(' ')}`, async () => {
        const argv = ['secret', 'get', ...args]
        const options = {cwd: dir.path, env: {...env, ...extra}}
        const [fast, oclif] = await Promise.all(entries.map(([, script]) => runCli(argv, {...options, script})))
        expect(fast.code).to.equal(oclif.code)
        expect(fast.stdoutBytes.equals(oclif.stdoutBytes)).to.equal(true)
        expect(fast.stderr).to.equal(oclif.stderr)
        assertNoCanary(fast.stderr, [value, jsonValue], 'stderr')
      })
    }

    // run: the child's output (masked or not), keyflow's diagnostics and the exit code, signals included.
    const runMatrix: string[][] = [
      ['--secret', 'PLAIN', '--', ...printf('PLAIN')],
      ['--secret', 'PLAIN', '--mask', 'never', '--', 'sh', '-c', 'printf %s "$PLAIN" | wc -c'],
      ['--secret', 'PLAIN', '--mask=always', '--', ...printf('PLAIN')],
      ['--secret', 'A=JSON_SECRET#db.password', '--', ...printf('A')],
      ['--secret', 'A=JSON_SECRET#db.password', '--mask-encodings', 'base64', '--', 'sh', '-c', `printf %s "$A" | base64`],
      ['--secret', 'PLAIN', '--env-style', 'prefect', '--', ...printf('PREFECT__CONTEXT__SECRETS__PLAIN')],
      ['--secret', 'FROM_FILE', '--secret', 'EMPTY', '--sources', 'dotenv', '--', ...printf('FROM_FILE')],
      ['--env-file', '.env', '--secret', 'FROM_FILE', '--', ...printf('FROM_FILE')],
      ['--source', 'JSON_SECRET', '--', ...printf('db')],
      ['--pristine', '--secret', 'PLAIN', '--', ...printf('JSON_SECRET')],
      ['--secret', 'PLAIN', '--json', '--', 'true'],
      ['--', 'sh', '-c', 'exit 7'],
      ['--secret', 'PLAIN', '--', 'sh', '-c', 'kill -TERM $$'],
      ['--', 'keyflow-no-such-command'],
      ['--secret', 'NOPE', '--', 'true'],
      ['--secret', 'NOPE', '--json', '--', 'true'],
      ['--secret', 'bad ref', '--', 'true'],
      ['--secret', 'PLAIN', '--mask', 'sometimes', '--', 'true'],
      ['--secret', 'PLAIN', '--bogus', '--', 'true'],
      ['--secret', 'PLAIN', 'true'],
      ['--secret', 'PLAIN', '--'],
      ['--secret', 'PLAIN', '--help'],
    ]
    for (const args of runMatrix) {
      it(`run ${args.join(' ')}`, async () => {
        const argv = ['run', ...args]
        const options = {cwd: dir.path, env}
        const [fast, oclif] = await Promise.all(entries.map(([, script]) => runCli(argv, {...options, script})))
        expect(fast.code).to.equal(oclif.code)
        expect(fast.signal).to.equal(oclif.signal)
        expect(fast.stdoutBytes.equals(oclif.stdoutBytes)).to.equal(true)
        expect(fast.stderr).to.equal(oclif.stderr)
        assertNoCanary(fast.stdout, [value, jsonValue], 'stdout')
        assertNoCanary(fast.stderr, [value, jsonValue], 'stderr')
      })
    }
  })
})
