import {ErrorJson, ExitCode, isKeyflowError, KeyflowError} from '../errors.js'
import {escapeControls} from './escape.js'
import {style} from './style.js'

/**
 * Turns anything thrown into a KeyflowError. Errors keyflow did not anticipate become
 * INTERNAL with a generic message: their text may quote input (a parser's message can carry
 * a secret), so it is never shown, not even under KEYFLOW_DEBUG (see debugTrace).
 */
export function toKeyflowError(error: unknown): KeyflowError {
  if (isKeyflowError(error)) return error
  const oclifExit = oclifExitCode(error)
  if (oclifExit !== undefined && error instanceof Error) {
    // oclif's own parse and usage errors: their messages are about flags, never values.
    return new KeyflowError(stripOclifDecoration(error.message), {
      code: 'USAGE',
      exit: oclifExit === 2 ? ExitCode.USAGE : (oclifExit as typeof ExitCode.USAGE),
      fix: 'See `keyflow help` or add --help to the command.',
    })
  }

  return new KeyflowError('keyflow failed unexpectedly. This is a bug; please report it.', {
    cause: error,
    code: 'INTERNAL',
    exit: ExitCode.INTERNAL,
    fix: 'Run again with KEYFLOW_DEBUG=1 to see where it failed, and include that in the report.',
  })
}

/**
 * What KEYFLOW_DEBUG=1 adds to an error: the name and stack frames of its cause, which say
 * where it failed. Never the cause's message: it may quote the input that made a parser or a
 * driver fail, and that input can be a secret.
 */
export function debugTrace(error: KeyflowError): string[] {
  const {cause} = error
  if (!(cause instanceof Error)) return []
  const frames = (cause.stack ?? '').split('\n').filter((line) => line.startsWith('    at '))
  return [`cause: ${cause.name}${'code' in cause && typeof cause.code === 'string' ? ` (${cause.code})` : ''}`, ...frames.map((frame) => frame.trim())]
}

function oclifExitCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('oclif' in error)) return undefined
  const {oclif} = error as {oclif?: {exit?: unknown}}
  return typeof oclif?.exit === 'number' ? oclif.exit : undefined
}

/**
 * oclif's hint to see --help, and its note that a repeatable flag swallows the arguments after
 * it: keyflow's repeatable flags take one value per occurrence, so the note is wrong here.
 */
function stripOclifDecoration(message: string): string {
  return message
    .replace(/\nSee more help with --help$/, '')
    .replace(/\n\nNote: [^\n]* allows? multiple values\.[^\n]*(?:\nAlternatively, you can use "--"[^\n]*)?/, '')
    .trim()
}

const debugging = () => Boolean(process.env.KEYFLOW_DEBUG)

export function errorJson(error: KeyflowError): {error: ErrorJson} {
  const json = error.toJSON()
  return {error: debugging() ? {...json, debug: debugTrace(error)} : json}
}

/** Human rendering: what, where, details, how to fix. */
export function renderErrorText(error: KeyflowError): string {
  // Each part escaped before styling adds its own escape sequences.
  // A message may span lines (oclif's parser writes its usage errors so); each line is escaped.
  const lines = [`${style.red(style.bold('Error:'))} ${error.message.split('\n').map((line) => escapeControls(line)).join('\n')}`]
  if (error.where) lines.push(`  ${style.dim('where:')} ${escapeControls(error.where)}`)
  for (const detail of error.details) lines.push(`  ${escapeControls(detail)}`)
  if (error.fix) lines.push(`  ${style.dim('fix:')}   ${escapeControls(error.fix)}`)
  if (debugging()) lines.push(...debugTrace(error).map((line) => `  ${style.dim('debug:')} ${escapeControls(line)}`))
  return lines.join('\n') + '\n'
}

/**
 * Writes the error to stderr (as JSON under --json: stdout carries data only, so a failed
 * command leaves stdout empty) and sets the exit code.
 */
export function reportError(error: unknown, json: boolean): KeyflowError {
  const keyflowError = toKeyflowError(error)
  process.stderr.write(json ? JSON.stringify(errorJson(keyflowError), null, 2) + '\n' : renderErrorText(keyflowError))
  process.exitCode = keyflowError.exit
  return keyflowError
}
