/**
 * Runs the test server as a process of its own (for bench/ and manual tries):
 *   node --loader ts-node/esm test/support/snowflake-server/main.ts '{"users":[...],"chunkRows":10000}'
 * Prints one JSON line {"url", "port", "account"} when ready; stops on SIGTERM, SIGINT or when
 * stdin closes.
 */
import {SnowflakeServerOptions, startSnowflakeServer} from './index.js'

const options = JSON.parse(process.argv[2] ?? '{}') as SnowflakeServerOptions
const server = await startSnowflakeServer(options)
process.stdout.write(JSON.stringify({account: server.account, port: server.port, url: server.url}) + '\n')
const stop = () => {
  process.stdin.destroy()
  server.stop().catch(() => {
    process.exitCode = 1
  })
}

process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.resume()
