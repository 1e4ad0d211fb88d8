import {expect} from 'chai'
import {after, afterEach, before, describe, it} from 'mocha'
import {spawn} from 'node:child_process'

import {assertNoCanary} from '../support/canary.js'
import {BIN, runCli} from '../support/cli.js'
import {FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {allCanaries, Canaries, containsValue, createWorld, scan, Servers, startServers, World} from '../support/leak-world.js'
import {requireMoto} from '../support/moto.js'
import {childrenOf, coreLimit, pids, procFile, Snapshot, snapshotTree, watchTree} from '../support/proc.js'
import {startKeyflow} from '../support/run-child.js'

/**
 * What other processes can see while keyflow holds secrets (README "Security model",
 * promises 1 and 3): the argv of keyflow and of every process below it, the environment of
 * every process but the intended child, and the core-dump limit. Read from /proc while the
 * commands run, so this suite needs Linux.
 */

const SELF_CORE = coreLimit('self')!

/** The child starts a grandchild (its own business), then says so and waits to be killed. */
const CHILD = [
  '--',
  process.execPath,
  '-e',
  "const g = require('node:child_process').spawn('sleep', ['60'], {stdio: 'ignore'}); console.log('ready ' + g.pid); setInterval(() => {}, 1000)",
]

function assertTree(snapshots: Snapshot[], canaries: string[]): void {
  for (const {cmdline, limits, pid} of snapshots) {
    assertNoCanary(cmdline, canaries, `the argv of process ${pid}`)
    // keyflow asks for no core dumps: it never raises the limit it was started with.
    expect(limits, `limits of ${pid}`).to.not.equal(undefined)
    expect(limits!.soft <= SELF_CORE.soft && limits!.hard <= SELF_CORE.hard, `core limit of ${pid}`).to.equal(true)
  }
}

/** Every process not in `exclude` whose environment we can read: none holds a canary. */
function assertNoOtherEnvironment(exclude: number[], canaries: string[]): number {
  let scanned = 0
  for (const pid of pids()) {
    if (exclude.includes(pid)) continue
    const environ = procFile(pid, 'environ')
    if (!environ) continue
    assertNoCanary(environ, canaries, `the environment of process ${pid}`)
    scanned++
  }

  return scanned
}

/** Runs a keyflow command, snapshotting its process tree until it exits. */
async function watch(world: World, args: string[], extra: Record<string, string>, input = '') {
  const {env, tmp} = world.env(extra)
  const child = spawn(process.execPath, ['--', BIN, ...args], {cwd: world.cwd, env, stdio: ['pipe', 'pipe', 'pipe']})
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  child.stdin.end(input)
  const closed = new Promise<null | number>((resolve) => {
    child.once('close', (code) => resolve(code))
  })
  const snapshots = await watchTree(child)
  const code = await closed
  const stdoutBytes = Buffer.concat(out)
  const result = {code, signal: null, stderr: Buffer.concat(err).toString('utf8'), stdout: stdoutBytes.toString('utf8'), stdoutBytes}
  return {pid: child.pid!, result, snapshots, tmp}
}

describe('leaks: argv, environments and core limits of running processes', () => {
  let servers: Servers
  let world: World
  let canaries: string[]
  let values: Canaries
  /** What the test itself put into keyflow's environment: the context and env sources. */
  let given: string[]

  before(async function () {
    if (process.platform !== 'linux') this.skip()
    requireMoto(this)
    servers = await startServers()
    world = createWorld(servers)
    canaries = allCanaries(servers)
    values = servers.values
    given = [values.context, values.env]
    const seed = async (args: string[], input: string) => {
      const {env} = world.env()
      const result = await runCli(args, {cwd: world.cwd, env, input})
      if (result.code !== 0) throw new Error(`seeding failed: ${args.join(' ')} (exit ${result.code})`)
    }

    await seed(['block', 'create', 'secret', 'lit', '--stdin-field', 'value'], values.blockLiteral)
    await seed(['block', 'create', 'aws-credentials', 'dev', '--from-file', '-'], JSON.stringify({aws_secret_access_key: values.credsSecretKey})) // eslint-disable-line camelcase
  })

  after(async () => {
    world?.cleanup()
    await servers?.stop()
  })

  describe('keyflow run', () => {
    let running: ReturnType<typeof startKeyflow> | undefined

    afterEach(async () => {
      if (running && running.child.exitCode === null && running.child.signalCode === null) {
        process.kill(-running.child.pid!, 'SIGKILL')
        await running.exited
      }
    })

    it('puts secrets only into the child environment: no argv, not keyflow, not the grandchild argv, not other processes', async () => {
      const {env} = world.env()
      running = startKeyflow(
        [
          'run',
          '--secret',
          'CTX_SECRET',
          '--secret',
          'DOTENV_SECRET',
          '--secret',
          'PW=leaks/json#password',
          '--secret',
          'PLAIN=leaks/plain',
          '--block',
          'secret/lit',
          ...CHILD,
        ],
        // startKeyflow runs in the test's cwd: the dotenv file is named instead.
        {...env, KEYFLOW_ENV_FILES: world.dotenvFile},
      )
      const [, grandchild] = await running.waitFor(/ready (\d+)/)
      const keyflow = running.child.pid!
      const tree = snapshotTree(keyflow)
      const [child] = childrenOf(keyflow)

      // keyflow starts exactly one process, the child; the child started the grandchild.
      expect(childrenOf(keyflow)).to.deep.equal([child])
      expect(childrenOf(child)).to.deep.equal([Number(grandchild)])
      expect(tree.map(({pid}) => pid).sort()).to.deep.equal([keyflow, child, Number(grandchild)].sort())
      assertTree(tree, canaries)

      // keyflow's own environment holds what the test gave it and nothing it resolved.
      const own = tree.find(({pid}) => pid === keyflow)!.environ
      assertNoCanary(own, canaries.filter((value) => !given.includes(value)), "keyflow's environment")

      // The child has what it asked for, and none of the rest: not the dotenv key it did not ask
      // for (dotenv is parsed, never loaded into keyflow's environment), not the other key of the
      // JSON secret, not another block's secret.
      const childEnv = tree.find(({pid}) => pid === child)!.environ
      const asked = [values.context, values.dotenv, values.awsJsonPassword, values.awsPlain, values.blockLiteral]
      expect(asked.map((value) => containsValue(childEnv, value))).to.deep.equal(asked.map(() => true))
      assertNoCanary(childEnv, canaries.filter((value) => !asked.includes(value) && !given.includes(value)), "the child's environment")

      // No other process on the machine we can read (moto, the Snowflake test server in this
      // process, anything else) has any canary in its environment.
      expect(assertNoOtherEnvironment([keyflow, child, Number(grandchild)], canaries)).to.be.greaterThan(1)
    })
  })

  describe('commands that resolve without a child', () => {
    let proxy: FaultProxy

    before(async () => {
      proxy = await startFaultProxy(servers.moto.url, servers.moto.env)
    })

    after(async () => {
      await proxy?.stop()
    })

    it('secret get waiting on a slow AWS answer: no secret in argv or environment, nothing spawned, no core limit raised', async () => {
      proxy.reset([{fault: {kind: 'latency', ms: 1500}}])
      const {pid, result, snapshots, tmp} = await watch(world, ['secret', 'get', 'leaks/json#password'], proxy.env)
      expect(result.code).to.equal(0)
      scan(world, canaries, result, {reveal: [values.awsJsonPassword], tmp})
      expect(proxy.counts.GetSecretValue ?? 0).to.be.greaterThan(0)
      // Snapshots were taken while keyflow ran; all of them of keyflow alone.
      expect(snapshots.length).to.be.greaterThan(1)
      expect(snapshots.every((snapshot) => snapshot.pid === pid)).to.equal(true)
      assertTree(snapshots, canaries)
      for (const {environ} of snapshots) assertNoCanary(environ, canaries.filter((value) => !given.includes(value)), "keyflow's environment")
    })

    it('secret set of a JSON key waiting on a slow AWS: the value, read from stdin, is in no argv or environment', async () => {
      proxy.reset([{fault: {kind: 'latency', ms: 500}}])
      const {pid, result, snapshots, tmp} = await watch(world, ['secret', 'set', 'leaks/watched#token', '--to', 'aws'], proxy.env, values.setKey)
      expect(result.code).to.equal(0)
      scan(world, canaries, result, {tmp})
      expect(proxy.counts.UpdateSecretVersionStage ?? proxy.counts.CreateSecret ?? 0).to.be.greaterThan(0)
      expect(snapshots.length).to.be.greaterThan(1)
      expect(snapshots.every((snapshot) => snapshot.pid === pid)).to.equal(true)
      assertTree(snapshots, canaries)
      for (const {environ} of snapshots) assertNoCanary(environ, canaries.filter((value) => !given.includes(value)), "keyflow's environment")
    })

    it('sql through a connector whose password is in AWS: no secret in argv or environment, nothing spawned', async () => {
      const create = await runCli(['block', 'create', 'snowflake-connector', 'watched', '--from-file', '-'], {
        cwd: world.cwd,
        env: world.env().env,
        input: JSON.stringify({
          access_url: servers.fixture.server.url, // eslint-disable-line camelcase
          credentials: {account: servers.fixture.server.account, password: {$ref: 'aws-sm://leaks/sf'}, user: 'kf_tester'},
          database: 'KEYFLOW',
          schema: 'PUBLIC',
          warehouse: 'TEST',
        }),
      })
      expect(create.code).to.equal(0)
      const {logins} = servers.fixture.server.stats
      proxy.reset([{fault: {kind: 'latency', ms: 500}}])
      const {pid, result, snapshots, tmp} = await watch(
        world,
        ['sql', '--block', 'snowflake-connector/watched', '--format', 'csv', 'SELECT count(*) AS n FROM range(50000000)'],
        proxy.env,
      )
      expect(result.code).to.equal(0)
      expect(result.stdout).to.equal('n\r\n50000000\r\n')
      scan(world, canaries, result, {tmp})
      expect(servers.fixture.server.stats.logins).to.equal(logins + 1)
      expect(snapshots.length).to.be.greaterThan(1)
      expect(snapshots.every((snapshot) => snapshot.pid === pid)).to.equal(true)
      assertTree(snapshots, canaries)
      for (const {environ} of snapshots) assertNoCanary(environ, canaries.filter((value) => !given.includes(value)), "keyflow's environment")
    })
  })
})
