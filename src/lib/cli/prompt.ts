import type {AskOptions} from '../block/documents/input.js'
import type {Prompter} from '../block/documents/operations.js'

import {ExitCode, KeyflowError} from '../errors.js'
import {importModule} from '../util/import-module.js'

/**
 * Terminal prompts on stdin/stderr (stdout carries data only), through Inquirer's prompts: a
 * real line editor (arrow keys, backspace, Ctrl-U, ...), so escape sequences move the cursor
 * instead of landing in the answer. Hidden input echoes nothing. Each prompt module loads on
 * first use only (about 20 ms each), so commands that never prompt do not pay for it.
 *
 * Ctrl-C is INTERRUPTED (exit 130) and Ctrl-D CANCELLED (exit 2); either way nothing is
 * written, because every command prompts before it writes.
 */

export const canPrompt = (): boolean => process.stdin.isTTY === true

const interrupted = () => new KeyflowError('Interrupted; nothing was written.', {code: 'INTERRUPTED', exit: ExitCode.INTERRUPTED})
const cancelled = () => new KeyflowError('Cancelled (end of input); nothing was written.', {code: 'CANCELLED', exit: ExitCode.USAGE, fix: 'Answer the prompt, or give the values with flags, stdin or a file.'})

interface Key {
  ctrl?: boolean
  name?: string
}

/**
 * Runs one prompt. Inquirer turns Ctrl-C into ExitPromptError but lets readline swallow
 * Ctrl-D, so end of input is watched for here and aborts the prompt.
 */
async function prompting<T>(run: (context: {input: NodeJS.ReadStream; output: NodeJS.WriteStream; signal: AbortSignal}) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onKey = (_: unknown, key: Key | undefined) => {
    if (key?.ctrl && key.name === 'd') controller.abort()
  }

  process.stdin.on('keypress', onKey)
  try {
    return await run({input: process.stdin, output: process.stderr, signal: controller.signal})
  } catch (error) {
    const name = error instanceof Error ? error.name : ''
    if (name === 'ExitPromptError') throw interrupted()
    if (name === 'AbortPromptError') throw cancelled()
    throw error
  } finally {
    process.stdin.off('keypress', onKey)
  }
}

export async function ask(question: string, options: AskOptions = {}): Promise<string> {
  const validate = async (answer: string) => (options.validate ? ((await options.validate(answer)) ?? true) : true)
  if (options.hidden) {
    const {default: password} = await importModule<typeof import('@inquirer/password')>('@inquirer/password')
    return prompting((context) => password({message: question, validate}, context))
  }

  const {default: input} = await importModule<typeof import('@inquirer/input')>('@inquirer/input')
  return prompting((context) => input({message: question, validate}, context))
}

export async function confirm(question: string): Promise<boolean> {
  const {default: confirmPrompt} = await importModule<typeof import('@inquirer/confirm')>('@inquirer/confirm')
  return prompting((context) => confirmPrompt({default: false, message: question}, context))
}

export const terminalPrompter: Prompter = {ask, canPrompt, confirm}
