import {createServer, request} from 'node:http'

/**
 * An HTTP proxy in front of one server (moto) that counts requests by AWS API (the
 * X-Amz-Target header, e.g. secretsmanager.BatchGetSecretValue) and can add latency to each.
 * Plain JS so the bench scripts, which run without a TypeScript loader, use the same one as
 * the tests. Types: counting-proxy.d.mts.
 */
export async function startCountingProxy(target, {delayMs = 0} = {}) {
  const counts = new Map()
  const upstream = new URL(target)
  const server = createServer((incoming, outgoing) => {
    const api = String(incoming.headers['x-amz-target'] ?? `${incoming.method} ${incoming.url}`)
    counts.set(api, (counts.get(api) ?? 0) + 1)
    const forward = () => {
      const proxied = request(
        {headers: {...incoming.headers, host: upstream.host}, host: upstream.hostname, method: incoming.method, path: incoming.url, port: upstream.port},
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers)
          response.pipe(outgoing)
        },
      )
      proxied.on('error', () => {
        outgoing.writeHead(502)
        outgoing.end()
      })
      incoming.pipe(proxied)
    }

    if (delayMs > 0) setTimeout(forward, delayMs)
    else forward()
  })
  await new Promise((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address()
  return {
    counts,
    reset() {
      counts.clear()
    },
    async stop() {
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    },
    total(prefix = 'secretsmanager.') {
      let sum = 0
      for (const [api, count] of counts) if (api.startsWith(prefix)) sum += count
      return sum
    },
    url: `http://127.0.0.1:${port}`,
  }
}
