import {expect} from 'chai'
import {afterEach, describe, it} from 'mocha'
import {ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {once} from 'node:events'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary} from '../support/canary.js'
import {baseEnv, BIN, runCli, tempDir} from '../support/cli.js'
import {createConnectorBlock, Fixture, passwordConfig, startFixture} from '../support/snowflake-fixture.js'
import {ReceivedAbort, SnowflakeServer, SnowflakeServerOptions} from '../support/snowflake-server/index.js'

/**
 * Ctrl-C, SIGTERM and SIGHUP during `keyflow sql`: the statement running on Snowflake is
 * cancelled (an abort-request for it) before keyflow exits 128 + the signal's number. Real
 * processes, real signals; the test server holds statements, chunks or logins so that the
 * signal lands while they are in flight, whatever the machine's speed.
 */

interface Running {
  child: ChildProcessWithoutNullStreams
  exited: Promise<{code: null | number; signal: NodeJS.Signals | null}>
  stderr: () => string
  stdout: () => string
}

describe('keyflow sql cancels the running statement on a signal', () => {
  let fixture: Fixture | undefined
  let home: ReturnType<typeof tempDir> | undefined
  let running: Running | undefined

  afterEach(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL')
    await fixture?.server.stop()
    home?.cleanup()
    fixture = undefined
    home = undefined
    running = undefined
  })

  async function setUp(options: SnowflakeServerOptions = {}): Promise<{block: string; fixture: Fixture; home: string}> {
    fixture = await startFixture(options)
    home = tempDir()
    const block = await createConnectorBlock(home.path, 'cancel', passwordConfig(fixture))
    return {block, fixture, home: home.path}
  }

  function start(cwd: string, args: string[]): Running {
    const child = spawn(process.execPath, ['--', BIN, 'sql', ...args], {cwd, env: baseEnv(cwd) as NodeJS.ProcessEnv})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdin.end()
    const exited = new Promise<{code: null | number; signal: NodeJS.Signals | null}>((resolve) => {
      child.on('close', (code, signal) => resolve({code, signal}))
    })
    running = {child, exited, stderr: () => stderr, stdout: () => stdout}
    return running
  }

  /** The next abort-request the server gets; a keyflow that exits without one fails the test at once. */
  async function abortFrom(run: Running, server: SnowflakeServer): Promise<ReceivedAbort> {
    const exitedFirst = run.exited.then(({code, signal}) => {
      throw new Error(`keyflow exited (code ${code}, signal ${signal}) without asking Snowflake to cancel: ${run.stderr()}`)
    })
    return Promise.race([server.nextAbort(), exitedFirst])
  }

  /**
   * `keyflow sql` running a statement the server holds, signalled once keyflow knows its query
   * id: the statement, the abort-request it sent, and the run. `arrange` sets the server up
   * further first (how it answers aborts).
   */
  async function signalHeld({args = ['SELECT 42 AS answer'], arrange}: {args?: string[]; arrange?: (server: SnowflakeServer) => void} = {}) {
    const {block, fixture, home} = await setUp()
    fixture.server.holdQueries()
    arrange?.(fixture.server)
    const run = start(home, ['--block', block, ...args])
    const query = await fixture.server.nextQueryKnown()
    run.child.kill('SIGINT')
    const abort = await abortFrom(run, fixture.server)
    return {abort, fixture, query, run}
  }

  /** One line on stderr, no stack trace, no secret anywhere. */
  function expectOneCleanLine(run: Running, canaries: string[]): string {
    const stderr = run.stderr()
    assertNoCanary(stderr, canaries, 'stderr')
    assertNoCanary(run.stdout(), canaries, 'stdout')
    expect(stderr).not.to.match(/^\s+at /m)
    expect(stderr.trimEnd().split('\n'), stderr).to.have.length(1)
    return stderr
  }

  it('SIGINT while Snowflake runs the statement: an abort-request for it, exit 130, one line naming the query id', async () => {
    const {abort, fixture, query, run} = await signalHeld()
    expect(query.sqlText).to.equal('SELECT 42 AS answer')
    expect(abort.queryId).to.equal(query.id)
    expect(abort.wasRunning).to.equal(true)
    const {code, signal} = await run.exited
    expect({code, signal}, run.stderr()).to.deep.equal({code: 130, signal: null})
    const line = expectOneCleanLine(run, fixture.canaries)
    expect(line).to.include('cancelled').and.include(query.id)
    expect(run.stdout()).to.equal('')
    expect(fixture.server.aborts).to.have.length(1)
  })

  it("SIGINT whose abort Snowflake answers only after the statement's failure and the logout: still reported as cancelled", async () => {
    const {fixture, query, run} = await signalHeld({arrange: (server) => server.lateAbortAnswers()})
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    const line = expectOneCleanLine(run, fixture.canaries)
    // The statement's failure as cancelled (000604) confirms it: the abort's answer, held until a logout, never came.
    expect(line, line).to.include(`Interrupted (SIGINT): Snowflake cancelled the statement (query id ${query.id})`)
  })

  it('SIGINT before Snowflake has answered the submission: the abort-request names its request id, exit 130', async () => {
    const {block, fixture, home} = await setUp()
    fixture.server.holdQueries()
    // The submission stays unanswered until the abort-request: keyflow cannot know the query id when the signal lands.
    fixture.server.holdSubmissions()
    const run = start(home, ['--block', block, 'SELECT 42 AS answer'])
    const query = await fixture.server.nextQuery()
    expect(query.sqlText).to.equal('SELECT 42 AS answer')
    expect(query.requestId, 'the driver sends a request id with its submission').to.be.a('string').and.not.equal('')
    run.child.kill('SIGINT')
    const abort = await abortFrom(run, fixture.server)
    // By the submission's request id (POST /queries/v1/abort-request {requestId}), as snowflake-sdk does without a query id.
    expect(abort).to.deep.equal({queryId: query.id, requestId: query.requestId, wasRunning: true})
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    const line = expectOneCleanLine(run, fixture.canaries)
    expect(line).to.include('Interrupted (SIGINT): Snowflake cancelled the statement')
    expect(run.stdout()).to.equal('')
    expect(fixture.server.aborts).to.have.length(1)
    expect(fixture.server.queries).to.have.length(1)
  })

  it('SIGTERM exits 143 and SIGHUP 129, each after cancelling the statement', async () => {
    const {block, fixture, home} = await setUp()
    fixture.server.holdQueries()
    for (const [name, exit] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const run = start(home, ['--block', block, '-f', 'csv', 'SELECT 1 AS one'])
      // eslint-disable-next-line no-await-in-loop
      const query = await fixture.server.nextQueryKnown()
      run.child.kill(name)
      // eslint-disable-next-line no-await-in-loop
      expect((await abortFrom(run, fixture.server)).queryId).to.equal(query.id)
      // eslint-disable-next-line no-await-in-loop
      expect(await run.exited, `${name}: ${run.stderr()}`).to.deep.equal({code: exit, signal: null})
      expect(expectOneCleanLine(run, fixture.canaries)).to.include(query.id).and.include(name)
    }
  })

  it('under --json the line is the usual JSON error on stderr, with the same exit code', async () => {
    const {fixture, query, run} = await signalHeld({args: ['--json', 'SELECT 42 AS answer']})
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    assertNoCanary(run.stderr() + run.stdout(), fixture.canaries, 'the output')
    const {error} = JSON.parse(run.stderr()) as {error: {code: string; exit: number; message: string}}
    expect(error).to.include({code: 'INTERRUPTED', exit: 130})
    expect(error.message).to.include(query.id)
  })

  it('exits when Snowflake never answers the abort-request, saying the cancel is unconfirmed and how to cancel it', async () => {
    const {abort, fixture, query, run} = await signalHeld({arrange: (server) => server.hangAborts()})
    expect(abort.queryId).to.equal(query.id)
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    const line = expectOneCleanLine(run, fixture.canaries)
    expect(line).to.include('not confirm').and.include(`SELECT SYSTEM$CANCEL_QUERY('${query.id}')`)
  })

  it('a second signal while the cancel is in flight exits at once, with the same code', async () => {
    const {fixture, query, run} = await signalHeld({arrange: (server) => server.hangAborts()})
    run.child.kill('SIGTERM')
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    const line = expectOneCleanLine(run, fixture.canaries)
    expect(line).to.include('again').and.include(`SELECT SYSTEM$CANCEL_QUERY('${query.id}')`)
  })

  it('SIGINT while the rows stream: the statement is cancelled, and the rows already written are whole lines', async () => {
    const {block, fixture, home} = await setUp({chunkRows: 1000})
    // The stream stops at chunk 10 (11,000 rows in): the signal lands in the middle of the rows.
    fixture.server.holdChunks(10)
    const run = start(home, ['--block', block, '-f', 'ndjson', "SELECT range AS n, repeat('x', 100) AS pad FROM range(100000)"])
    const query = await fixture.server.nextQueryKnown()
    await once(run.child.stdout, 'data')
    run.child.kill('SIGINT')
    expect((await abortFrom(run, fixture.server)).queryId).to.equal(query.id)
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    expect(expectOneCleanLine(run, fixture.canaries)).to.include(query.id)
    const stdout = run.stdout()
    expect(stdout.endsWith('\n')).to.equal(true)
    const rows = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as {n: number; pad: string})
    expect(rows.length).to.be.greaterThan(0).and.below(100_000)
    expect(rows.map((row) => row.n)).to.deep.equal([...Array.from({length: rows.length}).keys()])
  })

  it('a signal before the statement is sent (during login) exits at once with the same code: nothing to cancel', async () => {
    const {block, fixture, home} = await setUp()
    fixture.server.holdLogins()
    const run = start(home, ['--block', block, 'SELECT 42 AS answer'])
    await fixture.server.nextLogin()
    run.child.kill('SIGINT')
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    expect(expectOneCleanLine(run, fixture.canaries)).to.include('no statement was running').and.include('nothing to cancel')
    expect(fixture.server.queries).to.deep.equal([])
    expect(fixture.server.aborts).to.deep.equal([])
  })

  it('cancels a --rows batch insert the same way', async () => {
    const {block, fixture, home} = await setUp()
    const created = await runCli(['sql', '--block', block, 'CREATE TABLE t (name varchar)'], {cwd: home, env: baseEnv(home)})
    expect(created.code, created.stderr).to.equal(0)
    fixture.server.holdQueries()
    const rows = join(home, 'rows.ndjson')
    writeFileSync(rows, '["a"]\n["b"]\n')
    await fixture.server.nextQueryKnown()
    const run = start(home, ['--block', block, '--rows', rows, 'INSERT INTO t (name) VALUES (?)'])
    const insert = await fixture.server.nextQueryKnown()
    expect(insert.sqlText).to.equal('INSERT INTO t (name) VALUES (?)')
    run.child.kill('SIGINT')
    const abort = await abortFrom(run, fixture.server)
    expect(abort).to.deep.include({queryId: insert.id, wasRunning: true})
    expect(await run.exited, run.stderr()).to.deep.equal({code: 130, signal: null})
    expect(expectOneCleanLine(run, fixture.canaries)).to.include(insert.id)
    expect(run.stdout()).to.equal('')
  })
})
