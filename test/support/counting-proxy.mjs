import {createServer, request} from 'node:http'

/**
 * An HTTP proxy in front of one server (moto) that counts requests by AWS API (the
 * X-Amz-Target header, e.g. secretsmanager.BatchGetSecretValue) and can add latency to each.
 * Plain JS so the bench scripts, which run without a TypeScript loader, use the same one as
 * the tests. Types: counting-proxy.d.mts.
 *
 * It also counts the requests the server crashed on: a 5xx that is its web server's HTML error
 * page, not an AWS error. moto 5's secret store is not thread-safe: a CreateSecret that checks
 * a name while another inserts one fails with "RuntimeError: dictionary changed size during
 * iteration" (4 to 8 times in 3,000 creates made 100 at once, here), and the client rightly retries it. Those
 * retries are the emulator's, not a call keyflow's design makes, so the benches count them apart.
 */
const crashedOn = (response) => (response.statusCode ?? 502) >= 500 && String(response.headers['content-type'] ?? '').startsWith('text/html')

const sum = (map, prefix) => {
  let total = 0
  for (const [api, count] of map) if (api.startsWith(prefix)) total += count
  return total
}

export async function startCountingProxy(target, {delayMs = 0} = {}) {
  const counts = new Map()
  const crashes = new Map()
  const arrivals = new Map()
  const upstream = new URL(target)
  const server = createServer((incoming, outgoing) => {
    const api = String(incoming.headers['x-amz-target'] ?? `${incoming.method} ${incoming.url}`)
    counts.set(api, (counts.get(api) ?? 0) + 1)
    if (arrivals.has(api)) arrivals.get(api).push(Date.now())
    else arrivals.set(api, [Date.now()])
    const forward = () => {
      const proxied = request(
        {headers: {...incoming.headers, host: upstream.host}, host: upstream.hostname, method: incoming.method, path: incoming.url, port: upstream.port},
        (response) => {
          if (crashedOn(response)) crashes.set(api, (crashes.get(api) ?? 0) + 1)
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
    arrivals: (api) => arrivals.get(api) ?? [],
    counts,
    crashed: (prefix = 'secretsmanager.') => sum(crashes, prefix),
    reset() {
      counts.clear()
      crashes.clear()
      arrivals.clear()
    },
    async stop() {
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    },
    total: (prefix = 'secretsmanager.') => sum(counts, prefix),
    url: `http://127.0.0.1:${port}`,
  }
}
