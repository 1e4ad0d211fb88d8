import {readFileSync} from 'node:fs'

import type {Prompter} from '../block/documents/operations.js'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {warn} from '../output/warn.js'
import {utf8Text} from '../util/utf8.js'
import {checkWrite, planWrite, writePlanned, WriteResult} from './write/lifecycle.js'

/**
 * `keyflow secret set NAME|REFERENCE`: the value comes from stdin, a hidden prompt on a
 * terminal (asked twice), or --from-file; never from argv.
 */

export interface SecretSetFlags {
  [setting: string]: unknown
  'allow-empty'?: boolean
  binary?: boolean
  description?: string
  'from-file'?: string
  input?: boolean
  'kms-key-id'?: string
  tag?: string[]
}

const ALTERNATIVES = 'Pipe it on stdin (printf %s "$VALUE" | keyflow secret set NAME), type it at the hidden prompt (run on a terminal), or use --from-file PATH.'

function usage(message: string, fix: string, where?: string): KeyflowError {
  return new KeyflowError(message, {code: 'USAGE', exit: ExitCode.USAGE, fix, where})
}

/** Refuses a value on the command line without repeating it: argv is readable by every user. */
function checkArguments(args: string[]): string {
  if (args.length === 0) throw usage('Name the secret to set.', 'keyflow secret set DB_PASSWORD  (the value then comes from stdin or the prompt)')
  if (args.length > 1) {
    throw usage('secret set takes the name only: a value must never be given on the command line (other users can read argv, and it stays in shell history).', ALTERNATIVES)
  }

  const [reference] = args
  // NAME=VALUE: a value typed where the name goes. `%3D` writes an = that belongs to a name.
  const equals = reference.split('#')[0].indexOf('=')
  if (equals !== -1 && !/^[a-z][\d+.a-z-]*:\/\//i.test(reference.slice(0, equals))) {
    throw usage(`"${reference.slice(0, equals)}=..." looks like NAME=VALUE: a value must never be given on the command line.`, ALTERNATIVES)
  }

  return reference
}

/** Text as stored: valid UTF-8, one trailing newline removed (as `echo` and editors add one). */
function asText(bytes: Uint8Array, where: string): string {
  const text = utf8Text(bytes)
  if (text === undefined) {
    throw new KeyflowError('The value is not valid UTF-8 text.', {code: 'VALUE_NOT_TEXT', exit: ExitCode.BAD_VALUE, fix: 'Pass --binary to store the bytes as they are (AWS SecretBinary).', where})
  }

  return text.replace(/\r?\n$/, '')
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function emptyError(where: string): KeyflowError {
  return new KeyflowError('The value is empty; nothing was written.', {code: 'EMPTY_VALUE', exit: ExitCode.BAD_VALUE, fix: 'Give a value, or pass --allow-empty to store an empty one.', where})
}

const MATCH_TRIES = 3

async function promptTwice(prompter: Prompter, reference: string, allowEmpty: boolean): Promise<string> {
  for (let attempt = 1; attempt <= MATCH_TRIES; attempt++) {
    // eslint-disable-next-line no-await-in-loop
    const first = await prompter.ask(`Value for ${reference}`, {hidden: true, validate: (answer: string) => (answer === '' && !allowEmpty ? 'The value is empty (pass --allow-empty to store an empty value)' : undefined)})
    // eslint-disable-next-line no-await-in-loop
    const second = await prompter.ask('The same value again', {hidden: true})
    if (first === second) return first
    process.stderr.write('The two values differ; try again.\n')
  }

  throw usage(`The two values differed ${MATCH_TRIES} times; nothing was written.`, 'Type the same value twice, or pipe it on stdin.')
}

async function readValue(prompter: Prompter, reference: string, flags: SecretSetFlags): Promise<{value: string | Uint8Array; where: string}> {
  const file = flags['from-file']
  let bytes: Buffer
  let where: string
  if (file !== undefined) {
    where = file
    try {
      bytes = readFileSync(file)
    } catch (error) {
      throw new KeyflowError(`Cannot read the value file: ${describeFsError(error)}.`, {
        code: errnoCode(error) === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
        exit: errnoCode(error) === 'ENOENT' ? ExitCode.NOT_FOUND : ExitCode.SOURCE_FAILURE,
        fix: 'Check the path given to --from-file.',
        where: file,
      })
    }
  } else if (prompter.canPrompt()) {
    if (flags.input === false) throw usage('stdin is a terminal and --no-input forbids prompting.', ALTERNATIVES)
    if (flags.binary) throw usage('--binary values cannot be typed at a prompt.', 'Pipe the bytes on stdin, or use --from-file PATH.')
    return {value: await promptTwice(prompter, reference, Boolean(flags['allow-empty'])), where: 'the prompt'}
  } else {
    where = 'stdin'
    bytes = await readAll(process.stdin)
  }

  return {value: flags.binary ? new Uint8Array(bytes) : asText(bytes, where), where}
}

function parseTags(tags: string[] | undefined): Record<string, string> | undefined {
  if (!tags?.length) return undefined
  const result: Record<string, string> = {}
  for (const tag of tags) {
    const equals = tag.indexOf('=')
    if (equals <= 0) throw usage(`--tag needs KEY=VALUE${equals === -1 ? '' : ', with a key before ='}.`, 'Write --tag team=data, for example.')
    result[tag.slice(0, equals)] = tag.slice(equals + 1)
  }

  return result
}

export function describeWrite(result: WriteResult): string {
  const what = result.key ? `key "${result.key}" of ${result.name}` : result.name
  if (result.target === 'dotenv') return `${result.status === 'created' ? 'Added' : 'Updated'} ${what} in ${result.file}:${result.line}.\n`
  const version = result.versionId ? `, version ${result.versionId}` : ''
  return `${result.status === 'created' ? 'Created' : 'Updated'} ${what} in AWS Secrets Manager (${result.arn}${version}).\n`
}

export async function secretSet(invocation: Invocation, prompter: Prompter, args: string[], flags: SecretSetFlags): Promise<{json: WriteResult; stdout: string}> {
  const reference = checkArguments(args)
  const tags = parseTags(flags.tag)
  const plan = planWrite(invocation, reference)
  const metadata = {description: flags.description, kmsKeyId: flags['kms-key-id'], tags}
  checkWrite(plan, {...metadata, binary: flags.binary})
  const {value, where} = await readValue(prompter, plan.parsed.text, flags)
  if (value.length === 0 && !flags['allow-empty']) throw emptyError(where)
  const result = await writePlanned(invocation, plan, value, metadata)
  if (result.shadowedBy) warn(`${plan.parsed.text} was written, but the chain answers it from ${result.shadowedBy}; remove it there (\`keyflow secret ls\` shows every place that holds it).`)
  return {json: result, stdout: describeWrite(result)}
}
