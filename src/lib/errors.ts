/**
 * keyflow's error model: every failure a user can cause or meet is a KeyflowError that says
 * what went wrong, where, and how to fix it, and carries one of the documented exit codes.
 * The README's "Exit codes" table is generated from nothing: keep it in step with ExitCode.
 *
 * Messages are built by keyflow only from names, paths and references, never from secret
 * values, and never by forwarding a library's message that may quote its input (JSON.parse
 * does, for example).
 */

export const ExitCode = {
  /** A value is not what was asked of it: not JSON, no such key, wrong type. */
  BAD_VALUE: 5,
  /** `run`: the command was found but cannot be executed. */
  CANNOT_EXECUTE: 126,
  /** `run`: the command was not found. */
  COMMAND_NOT_FOUND: 127,
  /** Already exists, changed concurrently, or still referenced by others. */
  CONFLICT: 7,
  /** `sql`: ended by SIGHUP (its statement cancelled on Snowflake first). 128 + SIGHUP. */
  HANGUP: 129,
  /** A corrupt or insecure store, key, config or dotenv file; a wrong master key. */
  INTEGRITY: 8,
  /** An unexpected internal error: a bug in keyflow. */
  INTERNAL: 1,
  /** Interrupted (Ctrl-C, SIGINT): at a prompt, nothing was written; `sql`, its statement cancelled on Snowflake first. 128 + SIGINT, as a shell reports it. */
  INTERRUPTED: 130,
  /** A secret, block, block type or file that was asked for does not exist. */
  NOT_FOUND: 3,
  /** The output could not be written (a full disk, an I/O error): EX_IOERR of sysexits.h. */
  OUTPUT: 74,
  /** Snowflake refused or failed: login, SQL, session, timeout. */
  SNOWFLAKE: 9,
  /** A source failed: AWS denied, unreachable, throttled past retries; a file unreadable. */
  SOURCE_FAILURE: 4,
  /** `sql`: ended by SIGTERM (its statement cancelled on Snowflake first). 128 + SIGTERM. */
  TERMINATED: 143,
  /** Bad flags or arguments, a malformed reference, an invalid setting. */
  USAGE: 2,
  /** A block document or block type fails its schema. */
  VALIDATION: 6,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface KeyflowErrorOptions {
  cause?: unknown
  /** Machine-readable identifier, e.g. SECRET_NOT_FOUND. */
  code: string
  /** Further lines, e.g. why each source missed. */
  details?: string[]
  exit: ExitCodeValue
  /** What to do about it. */
  fix?: string
  /** Where it went wrong: a file and line, a flag, a source. */
  where?: string
}

export class KeyflowError extends Error {
  readonly code: string
  readonly details: string[]
  readonly exit: ExitCodeValue
  readonly fix?: string
  readonly where?: string

  constructor(message: string, options: KeyflowErrorOptions) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'KeyflowError'
    this.code = options.code
    this.exit = options.exit
    this.where = options.where
    this.fix = options.fix
    this.details = options.details ?? []
  }

  toJSON(): ErrorJson {
    return {
      code: this.code,
      details: this.details.length > 0 ? this.details : undefined,
      exit: this.exit,
      fix: this.fix,
      message: this.message,
      where: this.where,
    }
  }
}

export interface ErrorJson {
  code: string
  /** With KEYFLOW_DEBUG: where the cause failed (name and stack frames, no message). */
  debug?: string[]
  details?: string[]
  exit: number
  fix?: string
  message: string
  where?: string
}

export function isKeyflowError(error: unknown): error is KeyflowError {
  return error instanceof KeyflowError
}

/** Node's errno code of a failed fs call, if any. */
export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined
}

/** A one-line reason for an fs failure that never quotes file contents. */
export function describeFsError(error: unknown): string {
  switch (errnoCode(error)) {
    case 'EACCES':
    case 'EPERM': {
      return 'permission denied'
    }

    case 'EISDIR': {
      return 'is a directory'
    }

    case 'ENOENT': {
      return 'no such file'
    }

    case 'ENOSPC': {
      return 'no space left on device'
    }

    case 'ENOTDIR': {
      return 'a parent is not a directory'
    }

    default: {
      return errnoCode(error) ?? 'unreadable'
    }
  }
}

/** One error listing several, each under its label; `summary` follows the count ("2 of 5 ..."). */
export function combineErrors(failed: Array<{error: KeyflowError; label: string}>, summary: string): KeyflowError | undefined {
  if (failed.length === 0) return undefined
  if (failed.length === 1) return failed[0].error
  const rank = [ExitCode.SOURCE_FAILURE, ExitCode.BAD_VALUE, ExitCode.NOT_FOUND]
  const exit = rank.find((code) => failed.some(({error}) => error.exit === code)) ?? failed[0].error.exit
  return new KeyflowError(`${failed.length} ${summary}`, {
    code: 'SECRETS_UNRESOLVED',
    details: failed.flatMap(({error, label}) => [
      `${label}: ${error.message}${error.where ? ` (${error.where})` : ''}`,
      ...error.details.map((detail) => `    ${detail}`),
    ]),
    exit,
    fix: 'Fix each secret listed above; resolve one alone with --explain to see every source it tried.',
  })
}
