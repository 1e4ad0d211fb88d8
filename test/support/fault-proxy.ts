import {createServer, request as httpRequest, IncomingMessage, ServerResponse} from 'node:http'
import {Socket} from 'node:net'

/**
 * An HTTP proxy on loopback in front of moto that injects AWS faults, so tests see what the
 * real SDK does with them: latency, throttling (400 ThrottlingException, 429), server errors
 * (500, 503), reset connections, stalls past a timeout (before the headers, or after them),
 * a body dripped byte by byte, a 200 answer with another body, and per-secret errors inside a
 * BatchGetSecretValue answer. It counts requests per operation (X-Amz-Target) and per region
 * (the SigV4 credential scope).
 */

export type Fault =
  /** Moves these secrets (by name) from SecretValues to Errors[] of a BatchGetSecretValue answer. */
  | {body: (answer: Record<string, unknown>) => unknown; kind: 'rewrite'}
  /** Moto's answer, one byte every intervalMs: no gap is long enough to look idle. */
  | {errorCode: string; ids: string[]; kind: 'batch-errors'}
  /** An AWS JSON error answer: the SDK takes the error's name from `type`, retries from it and the status. */
  | {intervalMs: number; kind: 'drip'}
  /** Sends moto's status and headers, then nothing: the body never comes. */
  | {kind: 'error'; status: number; type: string}
  | {kind: 'headers-then-stall'}
  | {kind: 'latency'; ms: number}
  /** Never answers; the connection stays open until the client gives up or the proxy stops. */
  | {kind: 'reset'}
  /** Moto's 200 answer, rewritten by `body` (e.g. to {}, with no secret value in it). */
  | {kind: 'stall'}

export const THROTTLING: Fault = {kind: 'error', status: 400, type: 'ThrottlingException'}
export const TOO_MANY_REQUESTS: Fault = {kind: 'error', status: 429, type: 'TooManyRequestsException'}
export const INTERNAL_ERROR: Fault = {kind: 'error', status: 500, type: 'InternalServiceError'}
export const UNAVAILABLE: Fault = {kind: 'error', status: 503, type: 'ServiceUnavailable'}
export const ACCESS_DENIED: Fault = {kind: 'error', status: 400, type: 'AccessDeniedException'}

export interface FaultRule {
  fault: Fault
  /** Only requests whose body contains this text, e.g. '"bulk-44"' for the batch asking for it. */
  match?: string
  /** The operation to affect, e.g. GetSecretValue; every operation when absent. */
  operation?: string
  /** How many matching requests to affect; every one when absent. */
  times?: number
}

export interface FaultProxy {
  /** Requests seen per operation since the last reset. */
  counts: Record<string, number>
  /** Requests seen per region and operation since the last reset, e.g. {'us-west-2 BatchGetSecretValue': 1}. */
  countsByRegion: Record<string, number>
  /** Env vars that point keyflow at the proxy (credentials and region as for moto). */
  env: Record<string, string>
  /** Replaces the rules and zeroes the counts. */
  reset(rules?: FaultRule[]): void
  stop(): Promise<void>
  url: string
}

const AWS_JSON = 'application/x-amz-json-1.1'

function awsError(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, {'content-type': AWS_JSON})
  response.end(JSON.stringify({__type: type, message}))
}

async function readBody(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

interface Upstream {
  body: Buffer
  headers: IncomingMessage['headers']
  status: number
}

async function forward(target: URL, incoming: IncomingMessage, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      {headers: incoming.headers, hostname: target.hostname, method: incoming.method, path: incoming.url, port: target.port},
      (response) => {
        readBody(response).then((data) => resolve({body: data, headers: response.headers, status: response.statusCode ?? 502}), reject)
      },
    )
    upstream.on('error', reject)
    upstream.end(body)
  })
}

function moveToErrors(body: Buffer, fault: Extract<Fault, {kind: 'batch-errors'}>): Buffer {
  const answer = JSON.parse(body.toString('utf8')) as {
    Errors?: Array<Record<string, string>>
    SecretValues?: Array<{ARN?: string; Name?: string}>
  }
  const failing = (value: {ARN?: string; Name?: string}) => fault.ids.includes(value.Name ?? '') || fault.ids.includes(value.ARN ?? '')
  const moved = (answer.SecretValues ?? []).filter((value) => failing(value))
  answer.SecretValues = (answer.SecretValues ?? []).filter((value) => !failing(value))
  answer.Errors = [
    ...(answer.Errors ?? []),
    ...moved.map((value) => ({ErrorCode: fault.errorCode, Message: `injected ${fault.errorCode}`, SecretId: value.Name ?? ''})),
  ]
  return Buffer.from(JSON.stringify(answer))
}

function rewritten(body: Buffer, fault: Fault | undefined): Buffer {
  if (fault?.kind === 'batch-errors') return moveToErrors(body, fault)
  if (fault?.kind === 'rewrite') return Buffer.from(JSON.stringify(fault.body(JSON.parse(body.toString('utf8')))))
  return body
}

/** Writes one byte every intervalMs until the body is out or the client goes away. */
async function drip(response: ServerResponse, data: Buffer, intervalMs: number): Promise<void> {
  const client = {gone: false}
  response.once('close', () => {
    client.gone = true
  })
  for (let offset = 0; offset < data.length && !client.gone; offset++) {
    response.write(data.subarray(offset, offset + 1))
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => {
      setTimeout(resolve, intervalMs)
    })
  }

  response.end()
}

export async function startFaultProxy(upstreamUrl: string, baseEnv: Record<string, string>): Promise<FaultProxy> {
  const target = new URL(upstreamUrl)
  let rules: Array<FaultRule & {left: number}> = []
  const counts: Record<string, number> = {}
  const countsByRegion: Record<string, number> = {}
  const sockets = new Set<Socket>()

  const pick = (operation: string, body: string): Fault | undefined => {
    const rule = rules.find(
      (candidate) =>
        (candidate.operation ?? operation) === operation && candidate.left > 0 && body.includes(candidate.match ?? ''),
    )
    if (!rule) return undefined
    rule.left--
    return rule.fault
  }

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(incoming)
    const operation = String(incoming.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '') || 'unknown'
    counts[operation] = (counts[operation] ?? 0) + 1
    const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(incoming.headers.authorization ?? ''))?.[1] ?? 'unknown'
    countsByRegion[`${region} ${operation}`] = (countsByRegion[`${region} ${operation}`] ?? 0) + 1
    const fault = pick(operation, body.toString('utf8'))
    switch (fault?.kind) {
      case 'error': {
        awsError(response, fault.status, fault.type, `injected ${fault.type}`)
        return
      }

      case 'latency': {
        await new Promise((resolve) => {
          setTimeout(resolve, fault.ms)
        })
        break
      }

      case 'reset': {
        incoming.socket.resetAndDestroy()
        return
      }

      case 'stall': {
        return
      }

      default:
    }

    const upstream = await forward(target, incoming, body)
    const data = upstream.status === 200 ? rewritten(upstream.body, fault) : upstream.body
    const headers = {...upstream.headers, 'content-length': String(data.length)}
    delete headers['transfer-encoding']
    response.writeHead(upstream.status, headers)
    switch (fault?.kind) {
      case 'drip': {
        await drip(response, data, fault.intervalMs)
        break
      }

      case 'headers-then-stall': {
        response.flushHeaders()
        break
      }

      default: {
        response.end(data)
      }
    }
  }

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch(() => {
      if (response.headersSent) {response.destroy()}
      else {awsError(response, 502, 'ProxyError', 'the fault proxy could not reach moto')}
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('the fault proxy has no port')
  const url = `http://127.0.0.1:${address.port}`

  return {
    counts,
    countsByRegion,
    env: {...baseEnv, AWS_ENDPOINT_URL: url},
    reset(next = []) {
      rules = next.map((rule) => ({...rule, left: rule.times ?? Number.POSITIVE_INFINITY}))
      for (const tally of [counts, countsByRegion]) for (const key of Object.keys(tally)) delete tally[key]
    },
    async stop() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    },
    url,
  }
}
