import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn as spawnPty} from 'node-pty'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {canary} from '../support/canary.js'
import {baseEnv, BIN, tempDir} from '../support/cli.js'
import {fixture, parseReport, sha256, until} from '../support/run-child.js'

/** keyflow run in a pseudo-terminal: all three stdio are the terminal. */
async function inTerminal(args: string[], env: Record<string, string>): Promise<{code: number; output: string}> {
  const terminal = spawnPty(process.execPath, [BIN, ...args], {cols: 200, env, rows: 24})
  let output = ''
  terminal.onData((data) => {
    output += data
  })
  const code = await new Promise<number>((resolve) => {
    terminal.onExit(({exitCode}) => resolve(exitCode))
  })
  // eslint-disable-next-line no-control-regex
  return {code, output: output.replaceAll('\r', '').replaceAll(/\u001B\[[\d;]*m/g, '')}
}

/** keyflow run in a pseudo-terminal, driven while it runs. */
async function interactive(args: string[], env: Record<string, string>) {
  const terminal = spawnPty(process.execPath, [BIN, ...args], {cols: 200, env, rows: 24})
  let output = ''
  terminal.onData((data) => {
    output += data
  })
  const exited = new Promise<number>((resolve) => {
    terminal.onExit(({exitCode}) => resolve(exitCode))
  })
  return {
    exited,
    output: () => output.replaceAll('\r', ''),
    terminal,
    waitFor: (pattern: RegExp) => until(() => pattern.test(output), `the terminal shows ${pattern}`),
  }
}

/** A process's state letter (T: stopped) from /proc. */
const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1][0]

describe('run: a terminal', () => {
  let home: {cleanup: () => void; path: string}
  let env: Record<string, string>
  let envFile: string
  let value: string

  before(() => {
    home = tempDir()
    env = {...baseEnv(home.path), TERM: 'xterm'}
    value = canary('tty')
    envFile = join(home.path, 'secrets.env')
    writeFileSync(envFile, `TOKEN=${value}\n`, {mode: 0o600})
  })

  after(() => home.cleanup())

  it('gives the child the terminal itself: stdin, stdout and stderr stay TTYs', async () => {
    const {code, output} = await inTerminal(['run', '--env-file', envFile, '--secret', 'TOKEN', '--', process.execPath, fixture('report.mjs'), 'PREFECT__CONTEXT__SECRETS__TOKEN'], env)
    expect(code).to.equal(0)
    const report = parseReport(output)
    expect(report.tty).to.deep.equal({stderr: true, stdin: true, stdout: true})
    expect(report.digests.PREFECT__CONTEXT__SECRETS__TOKEN === sha256(value)).to.equal(true)
  })

  it('masks at a terminal with --mask always, keeping the terminal: the child sees TTYs, colours pass', async () => {
    const args = ['run', '--mask', 'always', '--env-file', envFile, '--secret', 'TOKEN', '--']
    const {code, output} = await inTerminal([...args, process.execPath, fixture('leak.mjs'), 'PREFECT__CONTEXT__SECRETS__TOKEN'], env)
    expect(code).to.equal(0)
    expect(output).to.include('out: *****')
    expect(output).to.include('err: *****')
    expect(output.includes(value)).to.equal(false)
    const report = parseReport((await inTerminal([...args, process.execPath, fixture('report.mjs')], env)).output)
    expect(report.tty).to.deep.equal({stderr: true, stdin: true, stdout: true})
    const colour = await interactive([...args, 'sh', '-c', String.raw`printf '\033[31mred %s\033[0m\n' "$PREFECT__CONTEXT__SECRETS__TOKEN"`], env)
    expect(await colour.exited).to.equal(0)
    expect(colour.output()).to.include('\u001B[31mred *****\u001B[0m')
  })

  it('passes keys, line editing, raw mode, resizes and Ctrl-C through the pseudo-terminal', async () => {
    const args = ['run', '--mask', 'always', '--env-file', envFile, '--secret', 'TOKEN', '--']
    // Line editing by the child's own terminal: a backspace erases before the line is read.
    const line = await interactive([...args, 'sh', '-c', 'echo ready; read answer; echo "got [$answer]"'], env)
    await line.waitFor(/ready/)
    line.terminal.write('yez\u007Fs\r')
    expect(await line.exited).to.equal(0)
    expect(line.output()).to.include('got [yes]')

    const raw = await interactive([...args, process.execPath, '-e', "process.stdin.setRawMode(true); console.log('ready'); process.stdin.once('data', (d) => { console.log('key', d[0]); process.exit(0) })"], env)
    await raw.waitFor(/ready/)
    raw.terminal.write('q')
    expect(await raw.exited).to.equal(0)
    expect(raw.output()).to.include('key 113')

    const resize = await interactive([...args, process.execPath, '-e', "console.log('ready', process.stdout.columns); setInterval(() => {}, 1000); process.stdout.on('resize', () => { console.log('size', process.stdout.columns, process.stdout.rows); process.exit(0) })"], env)
    await resize.waitFor(/ready 200/)
    resize.terminal.resize(123, 45)
    const resized = await resize.exited
    expect(resized, resize.output()).to.equal(0)
    expect(resize.output()).to.include('size 123 45')

    const interrupt = await interactive([...args, process.execPath, fixture('trap.mjs')], env)
    await interrupt.waitFor(/ready \d+/)
    interrupt.terminal.write('\u0003')
    expect(await interrupt.exited).to.equal(0)
    expect(interrupt.output().split('\n').filter((text) => text.endsWith('got SIGINT')).length).to.equal(1)
  })

  it('keeps the exit code and the killing signal of a child on a pseudo-terminal', async () => {
    const args = ['run', '--mask', 'always', '--env-file', envFile, '--secret', 'TOKEN', '--']
    expect((await inTerminal([...args, 'sh', '-c', 'exit 42'], env)).code).to.equal(42)
    const killed = await inTerminal([...args, 'sh', '-c', 'kill -TERM $$'], env)
    expect(killed.code).to.equal(143)
    expect(killed.output).to.include('killed by SIGTERM')
    expect((await inTerminal([...args, 'no-such-command-keyflow'], env)).code).to.equal(127)
  })

  it("gives the command perl's own variables exactly, without letting them act on the job-control helper", async () => {
    const lib = join(home.path, 'perl-lib')
    mkdirSync(lib, {recursive: true})
    // A POSIX.pm that would kill the helper if it were loaded from PERL5LIB.
    writeFileSync(join(lib, 'POSIX.pm'), 'die "planted POSIX loaded\\n";\n')
    const perlEnv = {PERL5LIB: lib, PERL5OPT: '-MNoSuchModuleKeyflow', PERL_BADLANG: 'kept', PERLIO: ':raw'}
    const args = ['run', '--mask', 'always', '--env-file', envFile, '--secret', 'TOKEN', '--']
    const printEnv = `process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PERL') || k.startsWith('KEYFLOW_PERL')))))`
    const {code, output} = await inTerminal([...args, process.execPath, '-e', printEnv], {...env, ...perlEnv, LC_ALL: 'xx_NO.SUCH-LOCALE'})
    expect(code, output).to.equal(0)
    expect(output).to.not.match(/perl: warning|planted POSIX|NoSuchModuleKeyflow\.pm/)
    expect(JSON.parse(output.slice(output.indexOf('{')))).to.deep.equal(perlEnv)
  })

  /** An interactive shell with job control on a real terminal, which runs keyflow as one of its jobs. */
  async function jobControlShell() {
    const shell = spawnPty('bash', ['--norc', '--noprofile', '-i'], {cols: 200, env: {...env, PS1: 'prompt$ '}, rows: 24})
    let output = ''
    shell.onData((data) => {
      output += data
    })
    let mark = 0
    const driven = {
      kill: () => shell.kill('SIGKILL'),
      output: () => output,
      shows: (pattern: RegExp) => until(() => pattern.test(output.slice(mark)), `the terminal shows ${pattern}`),
      /** Types `text`; what shows afterwards is what `shows` looks at. */
      type(text: string) {
        mark = output.length
        shell.write(text)
      },
    }
    await driven.shows(/prompt\$ $/)
    return driven
  }

  /** The command line that runs keyflow, masking at the terminal, with TOKEN. */
  const keyflowRun = () => `${process.execPath} ${BIN} run --mask always --env-file ${envFile} --secret TOKEN --`

  it('suspends on Ctrl-Z as a job of the shell and resumes on fg, still masking', async () => {
    const shell = await jobControlShell()
    try {
      const program = String.raw`echo "ready $$"; read line; echo "after $line $PREFECT__CONTEXT__SECRETS__TOKEN"`
      shell.type(`${keyflowRun()} sh -c '${program}'\r`)
      await shell.shows(/ready (\d+)/)
      const programPid = Number(/ready (\d+)/.exec(shell.output())![1])
      shell.type('\u001A')
      await shell.shows(/Stopped[^\n]*\n[^]*prompt\$ $/)
      expect(state(programPid)).to.equal('T')
      shell.type('jobs\r')
      await shell.shows(/\[1\]\+\s+Stopped[^]*prompt\$ $/)
      shell.type('fg\r')
      await until(() => state(programPid) === 'S', 'the program runs again')
      shell.type('typed\r')
      await shell.shows(/after typed \*{5}[^]*prompt\$ $/)
      shell.type('echo "exit=$?"\r')
      await shell.shows(/exit=0/)
      expect(shell.output().includes(value)).to.equal(false)
    } finally {
      shell.kill()
    }
  })

  it('lets a raw-mode program that suspends itself (as vim does) stop, and resume it on fg', async () => {
    const shell = await jobControlShell()
    try {
      shell.type(`${keyflowRun()} ${process.execPath} ${fixture('suspend-self.mjs')} PREFECT__CONTEXT__SECRETS__TOKEN\r`)
      await shell.shows(/ready (\d+)/)
      const programPid = Number(/ready (\d+)/.exec(shell.output())![1])
      shell.type('\u001A')
      await shell.shows(/suspending[^]*Stopped[^\n]*\n[^]*prompt\$ $/)
      expect(state(programPid)).to.equal('T')
      expect(shell.output()).not.to.include('resumed')
      shell.type('fg\r')
      await shell.shows(/resumed \*{5}/)
      shell.type('q')
      await shell.shows(/prompt\$ $/)
      shell.type('echo "exit=$?"\r')
      await shell.shows(/exit=0/)
      expect(shell.output().includes(value)).to.equal(false)
    } finally {
      shell.kill()
    }
  })
})
