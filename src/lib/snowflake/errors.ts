import {ExitCode, KeyflowError} from '../errors.js'

/**
 * Snowflake failures as KeyflowErrors (exit code SNOWFLAKE). Messages are keyflow's own,
 * except the text of a SQL error, which is Snowflake's (users need it to fix their SQL); every
 * configured secret value is scrubbed from it first. snowflake-sdk's own messages are never
 * shown: they can quote connection options.
 */

interface DriverError {
  code?: number | string
  data?: {queryId?: string}
  message?: string
  sqlState?: string
}

const LOGIN_CODES: Record<string, string> = {
  '390100': 'incorrect user name or password',
  '390144': 'the key-pair JWT was not accepted (is the public key registered for this user?)',
  '390303': 'the OAuth access token was not accepted',
}

const SESSION_CODES = new Set(['390104', '390111', '390114', '401004', '406502', '407002'])
const NETWORK_CODES = new Set(['401001'])
/** Downloading a chunk of a large result failed. */
const RESULT_CODES = new Set(['402001', '402002'])

function asDriverError(error: unknown): DriverError {
  return typeof error === 'object' && error !== null ? (error as DriverError) : {}
}

export function scrub(text: string, secrets: string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***')
  return out
}

function isTimeout(error: unknown): boolean {
  const {cause, code} = error as {cause?: {code?: string}; code?: unknown}
  return code === 'ETIMEDOUT' || code === 'ECONNABORTED' || cause?.code === 'ETIMEDOUT' || cause?.code === 'ECONNABORTED'
}

export function loginError(error: unknown, where: string): KeyflowError {
  const code = String(asDriverError(error).code ?? '')
  const reason = LOGIN_CODES[code]
  if (reason) {
    return new KeyflowError(`Snowflake refused the login: ${reason} (Snowflake code ${code}).`, {
      code: 'SNOWFLAKE_LOGIN',
      exit: ExitCode.SNOWFLAKE,
      fix: 'Check the user and the secret the credentials point at; rotate it in keyflow if it changed.',
      where,
    })
  }

  return connectionError(error, where)
}

export function sessionDropped(where: string, code?: string): KeyflowError {
  return new KeyflowError(`The Snowflake session was dropped${code ? ` (code ${code})` : ''}.`, {
    code: 'SNOWFLAKE_SESSION',
    exit: ExitCode.SNOWFLAKE,
    fix: 'Run the statement again: keyflow logs in anew on the next call.',
    where,
  })
}

/** A statement asked of a connector after interrupt(): it was cancelled, or never sent. */
export function interrupted(where: string): KeyflowError {
  return new KeyflowError('The connector was interrupted: its running statements were cancelled, and no more are sent.', {
    code: 'SNOWFLAKE_INTERRUPTED',
    exit: ExitCode.INTERRUPTED,
    fix: 'Use a new connector to run more statements.',
    where,
  })
}

/** A failure outside SQL: network, timeout, dropped session, or an unknown driver error. */
export function connectionError(error: unknown, where: string): KeyflowError {
  const code = String(asDriverError(error).code ?? '')
  if (isTimeout(error)) {
    return new KeyflowError('Snowflake did not answer in time.', {
      code: 'SNOWFLAKE_TIMEOUT',
      exit: ExitCode.SNOWFLAKE,
      fix: 'Check the network path to the account, or retry later.',
      where,
    })
  }

  if (SESSION_CODES.has(code)) return sessionDropped(where, code)

  if (RESULT_CODES.has(code)) {
    return new KeyflowError(`Downloading a part of the result from Snowflake failed (code ${code}).`, {
      code: 'SNOWFLAKE_RESULT',
      exit: ExitCode.SNOWFLAKE,
      fix: 'Run the query again; if it keeps failing, check access to the result storage (chunk URLs) from this network.',
      where,
    })
  }

  if (NETWORK_CODES.has(code)) {
    return new KeyflowError('Snowflake could not be reached.', {
      code: 'SNOWFLAKE_UNREACHABLE',
      exit: ExitCode.SNOWFLAKE,
      fix: 'Check the account name (or access_url / host and port) and the network.',
      where,
    })
  }

  return new KeyflowError(`snowflake-sdk failed${code ? ` with code ${code}` : ''}.`, {
    code: 'SNOWFLAKE_DRIVER',
    exit: ExitCode.SNOWFLAKE,
    fix: 'Run again with KEYFLOW_DEBUG=1 for the driver error code, and see docs/snowflake.md "Errors".',
    where,
  })
}

/** A statement failure: SQL errors keep Snowflake's code, SQL state and (scrubbed) message. */
/** Snowflake's answer to a statement it cancelled (000604 "SQL execution canceled"): SQL state 57014, the standard's "canceled as requested". */
export function isCancelledBySnowflake(error: unknown): boolean {
  return asDriverError(error).sqlState === '57014'
}

export function statementError(error: unknown, secrets: string[], where: string): KeyflowError {
  const driver = asDriverError(error)
  if (driver.sqlState) {
    const message = scrub(String(driver.message ?? ''), secrets).trim()
    return new KeyflowError(`Snowflake rejected the SQL: ${message.split('\n')[0]}`, {
      code: 'SNOWFLAKE_SQL',
      details: [
        ...message.split('\n').slice(1).filter((line) => line.trim() !== ''),
        `Snowflake error ${driver.code ?? '?'}, SQL state ${driver.sqlState}${driver.data?.queryId ? `, query id ${driver.data.queryId}` : ''}`,
      ],
      exit: ExitCode.SNOWFLAKE,
      fix: 'Fix the statement (see the Snowflake error above) and run it again.',
      where,
    })
  }

  return connectionError(error, where)
}
