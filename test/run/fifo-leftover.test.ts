import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync} from 'node:fs'
import {createServer, Server, Socket} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {baseEnv, BIN, tempDir} from '../support/cli.js'
import {leftInTmp} from '../support/fifos.js'

describe('run: the FIFOs made ahead while the secrets resolve', () => {
  let home: {cleanup: () => void; path: string}
  let server: Server
  const sockets: Socket[] = []

  beforeEach(() => {
    home = tempDir()
  })

  afterEach(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => {
      server.close(resolve)
    })
    home.cleanup()
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`leaves nothing in TMPDIR when ${signal} stops a run whose AWS secret is still resolving`, async () => {
      // An endpoint that accepts and never answers: the secret resolves for as long as the test wants.
      server = createServer((socket) => sockets.push(socket))
      await new Promise<void>((resolve) => {
        server.listen(0, '127.0.0.1', resolve)
      })
      const {port} = server.address() as {port: number}
      const tmp = join(home.path, 'tmp')
      mkdirSync(tmp, {mode: 0o700})
      const child = spawn(process.execPath, ['--', BIN, 'run', '--secret', 'aws-sm://slow', '--aws-max-attempts', '1', '--', 'true'], {
        env: {
          ...baseEnv(home.path),
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
          AWS_REGION: 'us-east-1',
          AWS_SECRET_ACCESS_KEY: 'testing',
          TMPDIR: tmp,
        },
        stdio: 'ignore',
      })
      // keyflow is waiting for AWS once the request reached the endpoint.
      await new Promise((resolve) => {
        server.once('connection', resolve)
      })
      // ...and mkfifo has exited (its few milliseconds are a window the code documents).
      const children = () => readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim()
      // eslint-disable-next-line no-await-in-loop
      while (children() !== '') await sleep(20)
      const exited = new Promise((resolve) => {
        child.on('exit', resolve)
      })
      child.kill(signal)
      await exited
      expect(leftInTmp(tmp)).to.deep.equal([])
    })
  }
})
