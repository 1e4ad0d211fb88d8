import type {DuckDBConnection} from '@duckdb/node-api'

import {randomBytes, randomUUID} from 'node:crypto'
import {once} from 'node:events'
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

/** A statement as the server received it: its query id, the driver's request id, and the SQL. */
export interface ReceivedQuery {
  id: string
  requestId?: string
  sqlText: string
}

/** An abort-request: what it named (a query id in the path, or a request id in the body) and the query that was. */
export interface ReceivedAbort {
  /** The query it named, found by either. */
  queryId?: string
  requestId?: string
  /** Whether the query was still running (and now fails with 000604, as a cancelled statement does). */
  wasRunning: boolean
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
  /** Every abort-request received, in order. */
  aborts: ReceivedAbort[]
  account: string
  /** Makes every later chunk download fail (HTTP 410, which the driver does not retry). */
  breakChunks(): void
  /** Forgets every session: the next request gets 390111 (session gone). */
  dropSessions(): void
  /** Makes every open session's token expire: the next request gets 390112 and must renew. */
  expireSessions(): void
  /** Abort-requests are never answered (an unreachable or hung Snowflake); they still cancel and are recorded. */
  hangAborts(): void
  /** Chunk downloads from this index on are never answered: a stream stays in the middle of its rows. */
  holdChunks(fromIndex: number): void
  /** Login requests from now on are never answered: a client stays logging in. */
  holdLogins(): void
  /** Statements received from now on run until they are aborted (000604), never to completion. */
  holdQueries(): void
  /**
   * Submissions (query-requests) received from now on are answered only once an abort-request has named their
   * statement, by the request id it was sent with: the client cannot know the query id before. Under hangAborts(), never.
   */
  holdSubmissions(): void
  host: string
  /**
   * Abort-requests received from now on cancel their statement at once, but are answered only once a session logs
   * out: Snowflake's answer comes after the statement's own failure has reached the client.
   */
  lateAbortAnswers(): void
  /** The next abort-request (or the first one already received). */
  nextAbort(): Promise<ReceivedAbort>
  /** Resolves when the next login request arrives (or the first one already arrived). */
  nextLogin(): Promise<void>
  /** The next statement received (or the first one already received). */
  nextQuery(): Promise<ReceivedQuery>
  /** The next statement whose query id the client has shown it knows: it asked for the statement's result or status. */
  nextQueryKnown(): Promise<ReceivedQuery>
  /** Sessions currently open. */
  openSessions(): number
  options: Required<Pick<SnowflakeServerOptions, 'chunkRows'>> & SnowflakeServerOptions
  port: number
  /** Every statement received, in order. */
  queries: ReceivedQuery[]
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
  /** Ends a held statement as cancelled. */
  abort?: () => void
  chunkQueue: Promise<unknown>
  error?: SqlError
  /** The client has asked for its result or status. */
  known?: boolean
  nextChunk: number
  outcome?: Outcome
  pendingPolls: number
  produced: Map<number, string>
  promise: Promise<void>
  /** Answers a held submission. */
  release?: () => void
  requestId?: string
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

/** Records in arrival order, read one at a time by a test that waits for the next. */
class Log<T> {
  readonly items: T[] = []
  private readonly added = new EventTarget()
  private read = 0

  add(item: T): void {
    this.items.push(item)
    this.added.dispatchEvent(new Event('added'))
  }

  async next(): Promise<T> {
    // eslint-disable-next-line no-await-in-loop
    while (this.read >= this.items.length) await once(this.added, 'added')
    return this.items[this.read++]
  }
}

/** What Snowflake answers for a statement cancelled while it ran. */
const cancelledError = () => new SqlError('SQL execution canceled', '000604', '57014')

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
  let chunksHeldFrom = Number.POSITIVE_INFINITY
  let holdingQueries = false
  let holdingSubmissions = false
  let holdingLogins = false
  const loginRequests = new Log<true>()
  let abortsHang = false
  let abortAnswersLate = false
  const lateAnswers: Array<() => void> = []
  const received = new Log<ReceivedQuery>()
  const known = new Log<ReceivedQuery>()
  const aborts = new Log<ReceivedAbort>()
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



  async function query(session: Session, body: {asyncExec?: boolean; bindings?: Bindings; sqlText?: string}, requestId: string | undefined): Promise<unknown> {
    stats.queries++
    const id = randomUUID()
    const entry: Query = {
      chunkQueue: Promise.resolve(),
      nextChunk: 0,
      pendingPolls: settings.forceAsync ? 1 : 0,
      produced: new Map(),
      promise: Promise.resolve(),
      requestId,
      session,
      status: 'RUNNING',
    }
    // A held statement runs until an abort-request ends it.
    const held = holdingQueries
      ? new Promise<void>((_, reject) => {
          entry.abort = () => reject(cancelledError())
        })
      : undefined
    const run = session.queue.then(async () => {
      await held
      return engine.run(session.connection, body.sqlText ?? '', body.bindings, settings.chunkRows)
    })
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
    // A held submission is answered (as it would have been) once an abort-request names its statement.
    const submission = holdingSubmissions
      ? new Promise<void>((resolve) => {
          entry.release = resolve
        })
      : undefined
    queries.set(id, entry)
    session.queries.add(id)
    received.add({id, requestId, sqlText: body.sqlText ?? ''})
    await submission
    if (!body.asyncExec && !settings.forceAsync) markKnown(id, entry)
    if (body.asyncExec) return inProgress(id, '333334')
    if (settings.forceAsync) return inProgress(id, '333333')
    await entry.promise
    return resultBody(id, entry)
  }

  function markKnown(id: string, entry: Query): void {
    if (entry.known) return
    entry.known = true
    known.add(received.items.find((query) => query.id === id)!)
  }

  async function result(id: string): Promise<unknown> {
    const entry = queries.get(id)
    if (!entry) return failure('000709', `Statement ${id} not found`)
    markKnown(id, entry)
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
    markKnown(id, entry)
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

  /** Cancels the statement an abort-request names, by query id (in the path) or by the request id it was sent with. */
  function abort(pathId: string | undefined, requestId: string | undefined): boolean {
    const queryId = pathId ?? [...queries].find(([, entry]) => requestId !== undefined && entry.requestId === requestId)?.[0]
    const entry = queryId === undefined ? undefined : queries.get(queryId)
    const wasRunning = entry?.status === 'RUNNING'
    aborts.add({queryId, requestId, wasRunning})
    if (abortsHang) return false
    if (wasRunning) entry?.abort?.()
    entry?.release?.()
    return true
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const {pathname, searchParams} = new URL(request.url ?? '/', url)
    const body = (await readBody(request)) as Record<string, unknown>
    const post = request.method === 'POST'
    if (post && pathname === '/session/v1/login-request') {
      loginRequests.add(true)
      if (!holdingLogins) sendJson(response, await login(body))
      return
    }

    if (post && pathname === '/session/token-request') return sendJson(response, renew(request, body))
    const chunkMatch = /^\/chunks\/([\da-f-]+)\/(\d+)$/.exec(pathname)
    if (request.method === 'GET' && chunkMatch) {
      if (chunksBroken) {
        response.writeHead(410).end()
        return
      }

      // A held chunk is never answered: the connection stays open until the server stops.
      if (Number(chunkMatch[2]) >= chunksHeldFrom) return
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
      sendJson(response, {code: null, data: null, message: null, success: true})
      for (const answer of lateAnswers.splice(0)) answer()
      return
    }

    if (post && pathname === '/session/heartbeat') {
      stats.heartbeats++
      return sendJson(response, {code: null, data: null, message: null, success: true})
    }

    if (post && pathname === '/queries/v1/query-request') return sendJson(response, await query(session, body, searchParams.get('requestId') ?? undefined))
    const abortMatch = /^\/queries\/(v1|[\da-f-]+)\/abort-request$/.exec(pathname)
    if (post && abortMatch) {
      const answered = abort(abortMatch[1] === 'v1' ? undefined : abortMatch[1], typeof body.requestId === 'string' ? body.requestId : undefined)
      const answer = () => sendJson(response, {code: null, data: null, message: null, success: true})
      if (answered && abortAnswersLate) lateAnswers.push(answer)
      else if (answered) answer()
      return
    }

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
    aborts: aborts.items,
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
    hangAborts() {
      abortsHang = true
    },
    holdChunks(fromIndex) {
      chunksHeldFrom = fromIndex
    },
    holdLogins() {
      holdingLogins = true
    },
    holdQueries() {
      holdingQueries = true
    },
    holdSubmissions() {
      holdingSubmissions = true
    },
    host,
    lateAbortAnswers() {
      abortAnswersLate = true
    },
    nextAbort: async () => aborts.next(),
    async nextLogin() {
      await loginRequests.next()
    },
    nextQuery: async () => received.next(),
    nextQueryKnown: async () => known.next(),
    openSessions: () => sessions.size,
    options: settings,
    port,
    queries: received.items,
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
