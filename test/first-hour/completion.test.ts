import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, BIN, runCli, tempDir} from '../support/cli.js'
import {PtySession, ptySession} from '../support/pty.js'

/**
 * Types a line and TAB into an interactive shell under a real pty; the shell is set up to print
 * the command line between << and >> after TAB's completion (zsh: from the widget TAB runs;
 * fish: on `afterTab`, a key bound to print it), then to clear it (`clear`). Returns what TAB
 * made of the line, once the prompt is back, so no key is typed while the shell is busy.
 */
async function tabIn(shell: PtySession, typed: string, keys: {afterTab?: string; clear?: string} = {}): Promise<string> {
  const from = shell.output().length
  shell.type(`${typed}\t${keys.afterTab ?? ''}`)
  const shown = (await shell.waitFor(/<<[^\n]*>>[\s\S]*READY> /, from)).slice(from)
  if (keys.clear) shell.type(keys.clear)
  return /<<([^\n]*)>>/.exec(shown)![1]
}

/**
 * Shell completion: `keyflow __complete` through the built CLI, and the scripts in real bash,
 * zsh and fish (the last two interactive, under a pseudo-terminal, pressing TAB), with
 * `keyflow` on the PATH as a user has it.
 */
/** fish: Ctrl-T prints the line (bound in its config), Ctrl-U clears it. */
const FISH_KEYS = {afterTab: '\u0014', clear: '\u0015'}

describe('first hour: shell completion', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>

  before(async () => {
    dir = tempDir()
    const bin = join(dir.path, 'bin')
    mkdirSync(bin)
    symlinkSync(BIN, join(bin, 'keyflow'))
    env = {...baseEnv(join(dir.path, 'home')), PATH: `${bin}:${process.env.PATH}`}
    expect((await runCli(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=a', '--field', 'user=u', '--field', 'password=aws-sm://pw'], {env})).code).to.equal(0)
    expect((await runCli(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'], {env})).code).to.equal(0)
    expect((await runCli(['block', 'create', 'aws-credentials', 'dev', '--field', 'region_name=us-east-1'], {env})).code).to.equal(0)
  })

  after(() => dir.cleanup())

  async function candidates(...words: string[]): Promise<string[]> {
    const result = await runCli(['__complete', ...words], {env})
    expect(result.code).to.equal(0)
    expect(result.stderr).to.equal('')
    return result.stdout.split('\n').filter(Boolean).map((line) => line.split('\t')[0])
  }

  it('commands and topics, level by level', async () => {
    expect(await candidates('')).to.include.members(['block', 'secret', 'run', 'sql', 'init', 'help', 'completion'])
    expect(await candidates('block', '')).to.include.members(['create', 'inspect', 'ls', 'type'])
    expect(await candidates('block', 'type', '')).to.deep.equal(['inspect', 'ls'])
    expect(await candidates('-')).to.deep.equal(['--help', '--version'])
  })

  it("a command's flags, and the values of flags with options", async () => {
    expect(await candidates('secret', 'get', '--')).to.include.members(['--format', '--sources', '--json', '--help', '--explain'])
    expect(await candidates('secret', 'get', '--format', '')).to.deep.equal(['env', 'json', 'shell'])
    expect(await candidates('secret', 'get', '--format=')).to.deep.equal(['--format=env', '--format=json', '--format=shell'])
  })

  it('--sources: a comma-separated list of the kinds not yet named', async () => {
    expect(await candidates('secret', 'get', '--sources', '')).to.deep.equal(['context', 'env', 'dotenv', 'aws'])
    expect(await candidates('run', '--sources', 'env,aw')).to.deep.equal(['env,context', 'env,dotenv', 'env,aws'])
  })

  it('block types and saved block names where a command takes them', async () => {
    expect(await candidates('block', 'create', '')).to.include.members(['aws-credentials', 'secret', 'snowflake-connector'])
    expect(await candidates('block', 'ls', '--type', '')).to.include('snowflake-credentials')
    expect(await candidates('block', 'inspect', '')).to.deep.equal(['aws-credentials/dev', 'snowflake-connector/prod', 'snowflake-credentials/prod'])
    expect(await candidates('run', '--block', '')).to.have.length(3)
    expect(await candidates('sql', '--block', '')).to.deep.equal(['snowflake-connector/prod'])
    expect(await candidates('block', 'type', 'inspect', '')).to.include('aws-secret')
  })

  it('paths where a flag takes a file, and after run --', async () => {
    expect(await candidates('secret', 'get', '--env-file', '')).to.deep.equal([':files'])
    expect(await candidates('run', '--', 'pyth')).to.deep.equal([':files'])
  })

  it('bash: the script completes through keyflow on the PATH', () => {
    const script = spawnSync('keyflow', ['completion', 'bash'], {encoding: 'utf8', env}).stdout
    const scriptFile = join(dir.path, 'keyflow.bash')
    writeFileSync(scriptFile, script)
    const complete = (line: string) => {
      const words = line.split(' ')
      const program = `source ${scriptFile}; COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _keyflow; printf '%s\\n' "\${COMPREPLY[@]}"`
      const result = spawnSync('bash', ['--norc', '-c', program], {encoding: 'utf8', env})
      expect(result.stderr).to.equal('')
      return result.stdout.split('\n').filter(Boolean)
    }

    expect(complete('keyflow bl')).to.deep.equal(['block'])
    expect(complete('keyflow block ins')).to.deep.equal(['inspect'])
    expect(complete('keyflow block inspect snow')).to.deep.equal(['snowflake-connector/prod', 'snowflake-credentials/prod'])
    expect(complete('keyflow secret get --format = s')).to.deep.equal(['shell'])
    expect(complete('keyflow secret get --format =')).to.deep.equal(['=env', '=json', '=shell'])
  })

  it('fish: the script completes through keyflow on the PATH', function () {
    if (spawnSync('fish', ['--version']).error) this.skip()
    const script = spawnSync('keyflow', ['completion', 'fish'], {encoding: 'utf8', env}).stdout
    const scriptFile = join(dir.path, 'keyflow.fish')
    writeFileSync(scriptFile, script)
    const result = spawnSync('fish', ['--no-config', '-c', `source ${scriptFile}; complete -C 'keyflow block inspect aws'`], {encoding: 'utf8', env})
    expect(result.stdout.split('\n').filter(Boolean)).to.deep.equal(['aws-credentials/dev'])
  })

  it('zsh: the script parses', function () {
    if (spawnSync('zsh', ['--version']).error) this.skip()
    const result = spawnSync('zsh', ['-n'], {encoding: 'utf8', env, input: spawnSync('keyflow', ['completion', 'zsh'], {encoding: 'utf8', env}).stdout})
    expect(result.status, result.stderr).to.equal(0)
  })

  it('zsh, interactive under a pty: TAB completes a command, a flag and a saved block name', async function () {
    if (spawnSync('zsh', ['--version']).error) this.skip()
    const zdotdir = join(dir.path, 'zsh')
    mkdirSync(zdotdir)
    writeFileSync(join(zdotdir, 'keyflow.zsh'), spawnSync('keyflow', ['completion', 'zsh'], {encoding: 'utf8', env}).stdout)
    writeFileSync(
      join(zdotdir, '.zshrc'),
      [
        'bindkey -e',
        'autoload -Uz compinit && compinit -u -D',
        `source ${join(zdotdir, 'keyflow.zsh')}`,
        // TAB runs zsh's own TAB widget, then shows the line it left and clears it.
        'complete-and-show() { zle expand-or-complete; zle -I; print -r -- "<<$BUFFER>>"; BUFFER= }',
        'zle -N complete-and-show',
        "bindkey '^I' complete-and-show",
        "PROMPT='READY> '",
      ].join('\n') + '\n',
    )
    const zsh = ptySession('zsh', ['--no-globalrcs', '-i'], {cwd: dir.path, env: {...env, ZDOTDIR: zdotdir}})
    try {
      await zsh.waitFor(/READY> /)
      expect(await tabIn(zsh, 'keyflow bl')).to.equal('keyflow block ')
      expect(await tabIn(zsh, 'keyflow secret get --exp')).to.equal('keyflow secret get --explain ')
      expect(await tabIn(zsh, 'keyflow block inspect aws')).to.equal('keyflow block inspect aws-credentials/dev ')
      expect(await tabIn(zsh, 'keyflow sql --block snow')).to.equal('keyflow sql --block snowflake-connector/prod ')
    } finally {
      await zsh.close()
    }
  })

  it('fish, interactive under a pty: TAB completes a command, a flag and a saved block name', async function () {
    if (spawnSync('fish', ['--version']).error) this.skip()
    const config = join(dir.path, 'fish')
    mkdirSync(config)
    writeFileSync(join(config, 'keyflow.fish'), spawnSync('keyflow', ['completion', 'fish'], {encoding: 'utf8', env}).stdout)
    writeFileSync(
      join(config, 'rc.fish'),
      [
        `source ${join(config, 'keyflow.fish')}`,
        "function fish_prompt; echo -n 'READY> '; end",
        "function fish_greeting; end",
        String.raw`bind \ct 'echo; echo "<<"(commandline)">>"; commandline -f repaint'`,
      ].join('\n') + '\n',
    )
    const fish = ptySession('fish', ['--no-config', '-i', '-C', `source ${join(config, 'rc.fish')}`], {cwd: dir.path, env})
    try {
      await fish.waitFor(/READY> /)
      expect(await tabIn(fish, 'keyflow bl', FISH_KEYS)).to.equal('keyflow block ')
      expect(await tabIn(fish, 'keyflow secret get --exp', FISH_KEYS)).to.equal('keyflow secret get --explain ')
      expect(await tabIn(fish, 'keyflow block inspect aws', FISH_KEYS)).to.equal('keyflow block inspect aws-credentials/dev ')
    } finally {
      await fish.close()
    }
  })

  it('completion with no shell named takes $SHELL, and refuses one it has no script for', async () => {
    expect((await runCli(['completion'], {env: {...env, SHELL: '/usr/bin/zsh'}})).stdout).to.match(/^#compdef keyflow/)
    const unknown = await runCli(['completion'], {env: {...env, SHELL: '/bin/tcsh'}})
    expect(unknown.code).to.equal(2)
    expect(unknown.stderr).to.include('keyflow completion bash')
  })
})
