import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {spawn as spawnPty} from 'node-pty'

import {assertNoCanary, assertNoCanaryInTree, canary} from '../support/canary.js'
import {baseEnv, BIN, runCli, tempDir} from '../support/cli.js'

/**
 * A secret typed at block create's prompt is read with echo off: the terminal shows nothing of
 * it, and it is stored encrypted. Typed only once the prompt shows, as a person would.
 */
async function typeAtPrompt(args: string[], env: Record<string, string>, answer: string): Promise<{code: number; output: string}> {
  const terminal = spawnPty(process.execPath, [BIN, ...args], {cols: 200, env: {...env, TERM: 'xterm'}, rows: 24})
  let output = ''
  let typed = false
  terminal.onData((data) => {
    output += data
    if (!typed && /Value \(value\)/.test(output)) {
      typed = true
      terminal.write(`${answer}\r`)
    }
  })
  const code = await new Promise<number>((resolve) => {
    terminal.onExit(({exitCode}) => resolve(exitCode))
  })
  return {code, output}
}

describe('leaks: a secret typed at a prompt', () => {
  let home: ReturnType<typeof tempDir>

  before(() => {
    home = tempDir()
  })

  after(() => home.cleanup())

  it('is not echoed to the terminal and not stored in clear text', async () => {
    const value = canary('typed')
    const env = baseEnv(home.path)
    const {code, output} = await typeAtPrompt(['block', 'create', 'secret', 'typed'], env, value)
    expect(code).to.equal(0)
    expect(/value/i.test(output)).to.equal(true)
    assertNoCanary(output, [value], 'the terminal')
    assertNoCanaryInTree(home.path, [value])
    const reveal = await runCli(['block', 'inspect', 'secret/typed', '--reveal', '--json'], {env})
    expect(reveal.code).to.equal(0)
    expect((JSON.parse(reveal.stdout) as {data: {value: string}}).data.value === value).to.equal(true)
  })
})
