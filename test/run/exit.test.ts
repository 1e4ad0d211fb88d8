import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, BIN, runCli, tempDir} from '../support/cli.js'
import {fixture} from '../support/run-child.js'

describe('run: exit codes, launch failures, stdin', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>

  before(() => {
    home = tempDir()
    env = baseEnv(home.path)
  })

  after(() => home.cleanup())

  it('exits with the child exit code, for a wide sample of 0..255', async () => {
    const codes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 42, 64, 100, 125, 126, 127, 128, 129, 130, 137, 143, 200, 254, 255]
    const results = await Promise.all(codes.map((code) => runCli(['run', '--allow-empty', '--', 'sh', '-c', `exit ${code}`], {env})))
    expect(results.map((result) => result.code)).to.deep.equal(codes)
    expect(results.every((result) => result.stderr === '' && result.stdout === '')).to.equal(true)
  })

  it('exits 128+N and says so when a signal kills the child', async () => {
    for (const [signal, number] of [['TERM', 15], ['KILL', 9], ['SEGV', 11]] as const) {
      // eslint-disable-next-line no-await-in-loop
      const result = await runCli(['run', '--allow-empty', '--', 'sh', '-c', `kill -${signal} $$`], {env})
      expect(result.code).to.equal(128 + number)
      expect(result.stderr).to.include(`killed by SIG${signal} (signal ${number}); exiting with ${128 + number}`)
    }
  })

  it('exits 127 for a command that is not found', async () => {
    const result = await runCli(['run', '--allow-empty', '--', 'keyflow-no-such-command-x'], {env})
    expect(result.code).to.equal(127)
    expect(result.stderr).to.include('Command not found: keyflow-no-such-command-x')
    const path = await runCli(['run', '--allow-empty', '--', join(home.path, 'missing', 'tool')], {env})
    expect(path.code).to.equal(127)
  })

  it('exits 127 when a script names an interpreter that does not exist', async () => {
    const script = join(home.path, 'bad-interpreter.sh')
    writeFileSync(script, '#!/no/such/interpreter\necho hi\n')
    chmodSync(script, 0o755)
    const result = await runCli(['run', '--allow-empty', '--', script], {env})
    expect(result.code).to.equal(127)
    expect(result.stderr).to.include('interpreter')
  })

  it('exits 126 for a file that is not executable, or a directory', async () => {
    const file = join(home.path, 'not-executable.sh')
    writeFileSync(file, '#!/bin/sh\necho hi\n', {mode: 0o644})
    const result = await runCli(['run', '--allow-empty', '--', file], {env})
    expect(result.code).to.equal(126)
    expect(result.stderr).to.include(`Cannot execute ${file}`)
    const dir = join(home.path, 'a-directory')
    mkdirSync(dir)
    expect((await runCli(['run', '--allow-empty', '--', dir], {env})).code).to.equal(126)
  })

  it('refuses to run without -- or without a command (exit 2)', async () => {
    const noDashes = await runCli(['run', 'true'], {env})
    expect(noDashes.code).to.equal(2)
    expect(noDashes.stderr).to.include('Put the command after --')
    expect((await runCli(['run', '--'], {env})).code).to.equal(2)
  })

  it('leaves everything after -- to the command, flags included', async () => {
    const result = await runCli(['run', '--allow-empty', '--', 'sh', '-c', 'printf "%s|" "$@"', 'sh', '--secret', 'X', '--help', '--', '--json'], {env})
    expect(result.code).to.equal(0)
    expect(result.stdout).to.equal('--secret|X|--help|--|--json|')
  })

  it('passes stdin through untouched, binary included', async () => {
    const input = randomBytes(200_000)
    const result = await runCli(['run', '--allow-empty', '--', 'cat'], {env, input})
    expect(result.code).to.equal(0)
    expect(result.stdoutBytes.equals(input)).to.equal(true)
  })

  it('passes stdin through untouched while masking output', async () => {
    const input = randomBytes(100_000)
    writeFileSync(join(home.path, 'mask.env'), `TOKEN=${randomBytes(16).toString('hex')}\n`, {mode: 0o600})
    const result = await runCli(['run', '--env-file', join(home.path, 'mask.env'), '--secret', 'TOKEN', '--', 'cat'], {env, input})
    expect(result.code).to.equal(0)
    expect(result.stdoutBytes.equals(input)).to.equal(true)
  })

  for (const masked of [false, true]) {
    it(`ends like a shell pipeline when its reader goes away (| head), ${masked ? 'masking' : 'not masking'}`, async () => {
      writeFileSync(join(home.path, 'pipe.env'), `TOKEN=${randomBytes(16).toString('hex')}\n`, {mode: 0o600})
      const flags = masked ? `--env-file ${join(home.path, 'pipe.env')} --secret TOKEN` : '--allow-empty'
      // A real shell pipeline: node's own stdio pipes are sockets, which report ECONNRESET instead.
      const script = `"${process.execPath}" "${BIN}" run ${flags} -- yes 2>"${join(home.path, 'pipe.err')}" | head -c 1 >/dev/null; echo "status \${PIPESTATUS[0]}"; cat "${join(home.path, 'pipe.err')}"`
      const result = await runCli(['run', '--allow-empty', '--', 'bash', '-c', script], {env})
      expect(result.stdout).to.equal('status 141\n')
    })
  }

  it('runs a child that exits before reading its input', async () => {
    const result = await runCli(['run', '--allow-empty', '--', 'node', fixture('report.mjs')], {env, input: randomBytes(1_000_000)})
    expect(result.code).to.equal(0)
  })
})
