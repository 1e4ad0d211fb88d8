import type {DuckDBConnection} from '@duckdb/node-api'

import {randomBytes, randomUUID} from 'node:crypto'
import {createServer, IncomingMessage, Server, ServerResponse} from 'node:http'
import {gunzipSync} from 'node:zlib'

import {freePort} from '../ports.js'
import {checkLogin, FakeUser, LoginData} from './auth.js'
import {Bindings, Engine, Outcome, SqlError, toSqlError} from './engine.js'

export type {FakeUser} from './auth.js'

/**
 * A local Snowflake for tests: speaks the HTTP protocol snowflake-sdk 3.3.0 uses
 * (../shared/reference/snowflake-protocol.md) and runs the SQL on an in-memory DuckDB.
 * Limits are listed in docs/snowflake.md ("The test server").
 */

export interface SnowflakeServerOptions {
  account?: string
  /** Rows per result page: inline in the query response, then per chunk. Default 1000. */
  chunkRows?: number
  /** Answer every query with 333333 first, so the driver polls getResultUrl. */
  forceAsync?: boolean
  users?: FakeUser[]
}

export interface ServerStats {
  chunks: number
  heartbeats: number
  logins: number
  loginsRefused: number
  polls: number
  queries: number
  renewals: number
  sessionsDeleted: number
  /** Status checks of a statement (GET /monitoring/queries/<id>). */
  statusChecks: number
  telemetry: number
}

export interface SnowflakeServer {
  account: string
  /** Makes every later chunk download fail (HTTP 410, which the driver does not retry). */
  breakChunks(): void
  /** Forgets every session: the next request gets 390111 (session gone). */
  dropSessions(): void
  /** Makes every open session's token expire: the next request gets 390112 and must renew. */
  expireSessions(): void
  host: string
  /** Sessions currently open. */
  openSessions(): number
  options: Required<Pick<SnowflakeServerOptions, 'chunkRows'>> & SnowflakeServerOptions
  port: number
  stats: ServerStats
  stop(): Promise<void>
  url: string
}

interface Session {
  connection: DuckDBConnection
  expired: boolean
  masterToken: string
  queries: Set<string>
  queue: Promise<unknown>
  token: string
}

interface Query {
  chunkQueue: Promise<unknown>
  error?: SqlError
  nextChunk: number
  outcome?: Outcome
  pendingPolls: number
  produced: Map<number, string>
  promise: Promise<void>
  session: Session
  status: 'FAILED_WITH_ERROR' | 'RUNNING' | 'SUCCESS'
}

const PARAMETERS = [
  {name: 'TIMEZONE', value: 'UTC'},
  {name: 'BINARY_OUTPUT_FORMAT', value: 'HEX'},
  {name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD'},
  {name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM'},
  {name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3'},
  {name: 'TIME_OUTPUT_FORMAT', value: 'HH24:MI:SS'},
]

class Refusal {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = []
  for await (const part of request) parts.push(part as Buffer)
  let body = Buffer.concat(parts)
  if (body.length === 0) return {}
  if (request.headers['content-encoding'] === 'gzip' || (body[0] === 0x1F && body[1] === 0x8B)) body = gunzipSync(body)
  return JSON.parse(body.toString('utf8'))
}

function sendJson(response: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {'content-length': Buffer.byteLength(text), 'content-type': 'application/json'})
  response.end(text)
}

function failure(code: string, message: string, data: Record<string, unknown> = {}): unknown {
  return {code, data: {errorCode: code, ...data}, headers: null, message, success: false}
}

function sessionToken(request: IncomingMessage): string | undefined {
  return /Snowflake Token="([^"]*)"/.exec(request.headers.authorization ?? '')?.[1]
}

function inProgress(id: string, code: '333333' | '333334'): unknown {
  return {code, data: {getResultUrl: `/queries/${id}/result`, queryId: id}, message: 'Asynchronous execution in progress.', success: true}
}

export async function startSnowflakeServer(options: SnowflakeServerOptions = {}): Promise<SnowflakeServer> {
  const settings = {chunkRows: 1000, ...options}
  const account = options.account ?? 'keyflowtest'
  const users = options.users ?? []
  const engine = await Engine.create()
  const sessions = new Map<string, Session>()
  const queries = new Map<string, Query>()
  const stats: ServerStats = {chunks: 0, heartbeats: 0, logins: 0, loginsRefused: 0, polls: 0, queries: 0, renewals: 0, sessionsDeleted: 0, statusChecks: 0, telemetry: 0}
  let chunksBroken = false
  const port = await freePort()
  const host = '127.0.0.1'
  const url = `http://${host}:${port}`

  function authenticated(request: IncomingMessage): Session {
    const token = sessionToken(request)
    const session = token === undefined ? undefined : sessions.get(token)
    if (!session) throw new Refusal('390111', 'Session no longer exists.  New login required to access the service.')
    if (session.expired) throw new Refusal('390112', 'Your session has expired. Please renew the session.')
    return session
  }

  function closeSession(session: Session): void {
    sessions.delete(session.token)
    for (const id of session.queries) {
      queries.get(id)?.outcome?.pager?.close()
      queries.delete(id)
    }

    session.connection.closeSync()
  }

  async function login(body: {data?: LoginData}): Promise<unknown> {
    const data = body.data ?? {}
    const refused = checkLogin(users, data)
    if (refused) {
      stats.loginsRefused++
      return failure(refused.code, refused.message, {nextAction: 'RETRY_LOGIN'})
    }

    stats.logins++
    const session: Session = {
      connection: await engine.connect(),
      expired: false,
      masterToken: `MT-${randomBytes(16).toString('hex')}`,
      queries: new Set(),
      queue: Promise.resolve(),
      token: `ST-${randomBytes(16).toString('hex')}`,
    }
    sessions.set(session.token, session)
    return {
      code: null,
      data: {
        displayUserName: data.LOGIN_NAME,
        masterToken: session.masterToken,
        masterValidityInSeconds: 14_400,
        parameters: [...PARAMETERS, {name: 'CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY', value: 3600}],
        serverVersion: '9.99.0-keyflow-test',
        sessionId: Math.floor(Math.random() * 1e9),
        sessionInfo: {databaseName: 'KEYFLOW', roleName: 'PUBLIC', schemaName: 'PUBLIC', warehouseName: 'TEST'},
        token: session.token,
        validityInSeconds: 3600,
      },
      message: null,
      success: true,
    }
  }

  function renew(request: IncomingMessage, body: {oldSessionToken?: string}): unknown {
    const master = sessionToken(request)
    const session = [...sessions.values()].find((candidate) => candidate.masterToken === master)
    if (!session || session.token !== body.oldSessionToken) return failure('390114', 'Master token expired.')
    stats.renewals++
    sessions.delete(session.token)
    session.token = `ST-${randomBytes(16).toString('hex')}`
    session.expired = false
    sessions.set(session.token, session)
    return {
      data: {masterToken: session.masterToken, sessionToken: session.token, validityInSecondsMT: 14_400, validityInSecondsST: 3600},
      success: true,
    }
  }

  function resultBody(id: string, query: Query): unknown {
    if (query.error) {
      return failure(query.error.code, query.error.message, {internalError: false, line: -1, pos: -1, queryId: id, sqlState: query.error.sqlState, type: 'COMPILATION'})
    }

    const outcome = query.outcome!
    const chunks = []
    for (let index = 0, start = outcome.rows.length; start < outcome.total; start += settings.chunkRows, index++) {
      const rowCount = Math.min(settings.chunkRows, outcome.total - start)
      chunks.push({compressedSize: rowCount * 16, rowCount, uncompressedSize: rowCount * 16, url: `${url}/chunks/${id}/${index}`})
    }

    return {
      code: null,
      data: {
        chunks: chunks.length > 0 ? chunks : undefined,
        finalDatabaseName: 'KEYFLOW',
        finalRoleName: 'PUBLIC',
        finalSchemaName: 'PUBLIC',
        finalWarehouseName: 'TEST',
        parameters: PARAMETERS,
        queryId: id,
        queryResultFormat: 'json',
        returned: outcome.total,
        rowset: outcome.rows,
        rowtype: outcome.rowtype,
        statementTypeId: outcome.statementTypeId,
        total: outcome.total,
        version: 1,
      },
      message: null,
      success: true,
    }
  }



  async function query(session: Session, body: {asyncExec?: boolean; bindings?: Bindings; sqlText?: string}): Promise<unknown> {
    stats.queries++
    const id = randomUUID()
    const entry: Query = {
      chunkQueue: Promise.resolve(),
      nextChunk: 0,
      pendingPolls: settings.forceAsync ? 1 : 0,
      produced: new Map(),
      promise: Promise.resolve(),
      session,
      status: 'RUNNING',
    }
    const run = session.queue.then(() => engine.run(session.connection, body.sqlText ?? '', body.bindings, settings.chunkRows))
    session.queue = run.catch(() => {})
    entry.promise = run.then(
      (outcome) => {
        entry.outcome = outcome
        entry.status = 'SUCCESS'
      },
      (error: unknown) => {
        entry.error = error instanceof SqlError ? error : toSqlError(error)
        entry.status = 'FAILED_WITH_ERROR'
      },
    )
    queries.set(id, entry)
    session.queries.add(id)
    if (body.asyncExec) return inProgress(id, '333334')
    if (settings.forceAsync) return inProgress(id, '333333')
    await entry.promise
    return resultBody(id, entry)
  }

  async function result(id: string): Promise<unknown> {
    const entry = queries.get(id)
    if (!entry) return failure('000709', `Statement ${id} not found`)
    stats.polls++
    if (entry.pendingPolls > 0) {
      entry.pendingPolls--
      return inProgress(id, '333333')
    }

    await entry.promise
    return resultBody(id, entry)
  }

  function status(id: string): unknown {
    stats.statusChecks++
    const entry = queries.get(id)
    if (!entry) return {data: {queries: []}, success: true}
    const failed = entry.error
    return {
      code: failed?.code ?? null,
      data: {queries: [{errorCode: failed?.code, errorMessage: failed?.message, id, status: entry.status}], sqlState: failed?.sqlState},
      message: null,
      success: true,
    }
  }

  /** Chunks are produced in order from the result's stream; ones asked for early wait in `produced`. */
  async function chunk(id: string, index: number): Promise<string | undefined> {
    const entry = queries.get(id)
    const pager = entry?.outcome?.pager
    if (!entry || !pager) return undefined
    const work = entry.chunkQueue.then(async () => {
      while (entry.nextChunk <= index) {
        // eslint-disable-next-line no-await-in-loop
        const rows = await pager.take(settings.chunkRows)
        entry.produced.set(entry.nextChunk++, rows.map((row) => JSON.stringify(row)).join(','))
      }
    })
    entry.chunkQueue = work.catch(() => {})
    await work
    const body = entry.produced.get(index)
    entry.produced.delete(index)
    stats.chunks++
    return body
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const {pathname, searchParams} = new URL(request.url ?? '/', url)
    const body = (await readBody(request)) as Record<string, unknown>
    const post = request.method === 'POST'
    if (post && pathname === '/session/v1/login-request') return sendJson(response, await login(body))
    if (post && pathname === '/session/token-request') return sendJson(response, renew(request, body))
    const chunkMatch = /^\/chunks\/([\da-f-]+)\/(\d+)$/.exec(pathname)
    if (request.method === 'GET' && chunkMatch) {
      if (chunksBroken) {
        response.writeHead(410).end()
        return
      }

      const text = await chunk(chunkMatch[1], Number(chunkMatch[2]))
      if (text === undefined) {
        response.writeHead(404).end()
        return
      }

      response.writeHead(200, {'content-length': Buffer.byteLength(text), 'content-type': 'application/octet-stream'})
      response.end(text)
      return
    }

    if (post && pathname === '/telemetry/send') {
      stats.telemetry++
      return sendJson(response, {success: true})
    }

    const session = authenticated(request)
    if (post && pathname === '/session' && searchParams.get('delete') === 'true') {
      stats.sessionsDeleted++
      closeSession(session)
      return sendJson(response, {code: null, data: null, message: null, success: true})
    }

    if (post && pathname === '/session/heartbeat') {
      stats.heartbeats++
      return sendJson(response, {code: null, data: null, message: null, success: true})
    }

    if (post && pathname === '/queries/v1/query-request') return sendJson(response, await query(session, body))
    if (post && /^\/queries\/(v1|[\da-f-]+)\/abort-request$/.test(pathname)) return sendJson(response, {success: true})
    const resultMatch = /^\/queries\/([\da-f-]+)\/result$/.exec(pathname)
    if (request.method === 'GET' && resultMatch) return sendJson(response, await result(resultMatch[1]))
    const statusMatch = /^\/monitoring\/queries\/([\da-f-]+)$/.exec(pathname)
    if (request.method === 'GET' && statusMatch) return sendJson(response, status(statusMatch[1]))
    sendJson(response, {code: '404', message: `keyflow test server: no route ${request.method} ${pathname}`, success: false}, 404)
  }

  const server: Server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (error instanceof Refusal) sendJson(response, failure(error.code, error.message))
      else if (!response.headersSent) sendJson(response, {message: error instanceof Error ? error.message : 'error', success: false}, 400)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })

  return {
    account,
    breakChunks() {
      chunksBroken = true
    },
    dropSessions() {
      for (const session of sessions.values()) closeSession(session)
    },
    expireSessions() {
      for (const session of sessions.values()) session.expired = true
    },
    host,
    openSessions: () => sessions.size,
    options: settings,
    port,
    stats,
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
      for (const session of sessions.values()) closeSession(session)
      engine.close()
    },
    url,
  }
}
