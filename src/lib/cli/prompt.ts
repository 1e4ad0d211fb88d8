import type {Prompter} from '../block/documents/operations.js'

import {ExitCode, KeyflowError} from '../errors.js'

/**
 * A minimal terminal prompt on stdin/stderr (stdout carries data only). Hidden input echoes
 * nothing, for secret fields. Ctrl-C or Ctrl-D cancels with a USAGE error.
 */

const cancelled = () => new KeyflowError('Cancelled.', {code: 'CANCELLED', exit: ExitCode.USAGE})

export const canPrompt = (): boolean => process.stdin.isTTY === true

export async function ask(question: string, options: {hidden?: boolean} = {}): Promise<string> {
  const input = process.stdin
  const output = process.stderr
  // Raw mode before the question: an answer typed as soon as it shows is never echoed by the terminal.
  input.setRawMode(true)
  input.resume()
  input.setEncoding('utf8')
  output.write(question)
  return new Promise((resolve, reject) => {
    let answer = ''
    const finish = (error?: KeyflowError) => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      output.write('\n')
      if (error) reject(error)
      else resolve(answer)
    }

    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish()
        if (char === '\u0003' || (char === '\u0004' && answer === '')) return finish(cancelled())
        if (char === '\u007F' || char === '\b') {
          if (answer.length > 0 && !options.hidden) output.write('\b \b')
          answer = answer.slice(0, -1)
        } else if (char >= ' ') {
          answer += char
          if (!options.hidden) output.write(char)
        }
      }
    }

    input.on('data', onData)
  })
}

export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(`${question} [y/N] `)).trim())
}

export const terminalPrompter: Prompter = {ask, canPrompt, confirm}
