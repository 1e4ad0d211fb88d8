/* eslint-disable camelcase -- block fields keep Prefect's snake_case names */
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, assertNoCanaryInTree, canary} from './canary.js'
import {baseEnv, CliResult, tempDir} from './cli.js'
import {Moto, motoClient, startMoto} from './moto.js'
import {Fixture, startFixture} from './snowflake-fixture.js'

/**
 * One moto and one Snowflake test server for a leak-test file, secrets seeded in every source
 * keyflow reads, each a distinct canary: the context and plain environment, a dotenv file in
 * the working directory, AWS (a string, a JSON object, a binary secret), block secret fields
 * (literals, references) and the Snowflake password.
 */
export interface Canaries {
  acmeKey: string
  awsBinary: string
  awsJsonOther: string
  awsJsonPassword: string
  awsPlain: string
  blockLiteral: string
  blockUpdated: string
  /** Given on the command line by a careless user: keyflow must refuse it without echoing it. */
  cliLiteral: string
  context: string
  credsSecretKey: string
  dotenv: string
  dotenvOther: string
  env: string
  newMasterKey: string
  /** Stored by `secret set`: to AWS, into a key of a JSON secret, into a dotenv file outside the scanned directories. */
  setAws: string
  setDotenv: string
  setKey: string
  sfPassword: string
  sfWrong: string
  wrongMasterKey: string
}

export interface Servers {
  fixture: Fixture
  moto: Moto
  stop(): Promise<void>
  values: Canaries
}

export async function startServers(): Promise<Servers> {
  const [moto, fixture] = await Promise.all([startMoto(), startFixture()])
  const values: Canaries = {
    acmeKey: canary('acmekey'),
    awsBinary: canary('awsbinary'),
    awsJsonOther: canary('awsjsonother'),
    awsJsonPassword: canary('awsjson'),
    awsPlain: canary('awsplain'),
    blockLiteral: canary('blockliteral'),
    blockUpdated: canary('blockupdated'),
    cliLiteral: canary('cliliteral'),
    context: canary('context'),
    credsSecretKey: canary('credssecret'),
    dotenv: canary('dotenv'),
    dotenvOther: canary('dotenvother'),
    env: canary('env'),
    newMasterKey: randomBytes(32).toString('base64'),
    setAws: canary('setaws'),
    setDotenv: canary('setdotenv'),
    setKey: canary('setkey'),
    sfPassword: fixture.password,
    sfWrong: canary('sfwrong'),
    wrongMasterKey: randomBytes(32).toString('base64'),
  }
  const aws = await motoClient(moto)
  await aws.create('leaks/plain', values.awsPlain)
  await aws.create('leaks/json', JSON.stringify({api_key: values.awsJsonOther, password: values.awsJsonPassword, port: 5432}))
  await aws.create('leaks/binary', Buffer.from(values.awsBinary))
  await aws.create('leaks/sf', fixture.password)
  aws.client.destroy()
  return {
    fixture,
    moto,
    async stop() {
      await Promise.all([moto.stop(), fixture.server.stop()])
    },
    values,
  }
}

export function allCanaries(servers: Servers): string[] {
  return [...Object.values(servers.values), ...servers.fixture.canaries.filter((value) => value !== servers.values.sfPassword)]
}

/** Where one keyflow user lives: HOME (KEYFLOW_HOME inside it), a project directory, a TMPDIR per command. */
export interface World {
  /** A dotenv file that is not UTF-8, and a malformed project file, both holding a canary. */
  badDotenv: string
  badProject: string
  cleanup(): void
  cwd: string
  dotenvFile: string
  dotenvText: string
  /** The environment of a keyflow command, with a fresh, empty TMPDIR. */
  env(extra?: Record<string, string>): {env: Record<string, string>; tmp: string}
  home: string
  root: string
  /** Where the user's Snowflake client config asks the driver to log. */
  sfLogDir: string
  /** The dotenv file `secret set --to dotenv=...` writes: outside HOME and cwd, so the scans do not see it. */
  writtenDotenv: string
}

export const TYPES_FILE = 'types.json'

export function createWorld(servers: Servers): World {
  const root = tempDir('keyflow-leaks-')
  const home = join(root.path, 'home')
  const cwd = join(root.path, 'project')
  mkdirSync(home, {mode: 0o700})
  mkdirSync(cwd, {mode: 0o700})
  const {values} = servers
  const dotenvText = `DOTENV_SECRET=${values.dotenv}\nOTHER_DOTENV=${values.dotenvOther}\n`
  const dotenvFile = join(cwd, '.env')
  writeFileSync(dotenvFile, dotenvText, {mode: 0o600})
  // A user block type with a secret field, pattern and enum: ajv's messages must not quote values.
  const type = {
    fields: {
      properties: {api_key: {pattern: '^kfcanary-', type: 'string'}, tier: {enum: ['gold', 'silver']}},
      required: ['api_key'],
      type: 'object',
    },
    name: 'ACME API',
    secretFields: ['api_key'],
    slug: 'acme-api',
  }
  writeFileSync(join(cwd, TYPES_FILE), JSON.stringify(type))
  // Broken input files, outside the scanned directories: the errors about them must not quote them.
  const outside = join(root.path, 'outside')
  mkdirSync(outside, {mode: 0o700})
  const badDotenv = join(outside, 'bad.env')
  writeFileSync(badDotenv, Buffer.concat([Buffer.from(`BAD=${values.cliLiteral}\n`), Buffer.from([0xff, 0xfe, 0x0a])]), {mode: 0o600})
  const badProject = join(outside, 'keyflow.json')
  writeFileSync(badProject, `{"run": {"secrets": {"X": "${values.cliLiteral}" "Y"}}}`, {mode: 0o600})
  // snowflake-sdk's "easy logging": a user's client config in HOME asks for the driver's TRACE
  // log under HOME. keyflow's own logger setting does not stop it; the log must hold no secret.
  const sfLogDir = join(home, 'sflogs')
  const sfClientConfig = {common: {log_level: 'TRACE', log_path: sfLogDir}}
  writeFileSync(join(home, 'sf_client_config.json'), JSON.stringify(sfClientConfig), {mode: 0o600})
  const tmps = join(root.path, 'tmp')
  mkdirSync(tmps, {mode: 0o700})
  return {
    badDotenv,
    badProject,
    cleanup: root.cleanup,
    cwd,
    dotenvFile,
    dotenvText,
    env(extra = {}) {
      const tmp = mkdtempSync(join(tmps, 'cmd-'))
      return {
        env: {
          ...baseEnv(home),
          ...servers.moto.env,
          ENV_SECRET: values.env,
          PREFECT__CONTEXT__SECRETS__CTX_SECRET: values.context,
          TMPDIR: tmp,
          ...extra,
        },
        tmp,
      }
    },
    home,
    root: root.path,
    sfLogDir,
    writtenDotenv: join(outside, 'written.env'),
  }
}

/** What the tests scan after each command; each entry is one "place" of the canary count. */
export const PLACES = ['stdout', 'stderr', 'HOME and KEYFLOW_HOME', 'cwd', 'TMPDIR'] as const

export interface Scan {
  /** Canaries that may be on stderr: the user put them in argv, which DEBUG=oclif* traces. */
  argv?: string[]
  /** Canaries that must be on stdout because printing them is the command's job. */
  reveal?: string[]
  /** The command's private TMPDIR: it must be left empty. */
  tmp: string
}

export function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
}

export function containsValue(text: Buffer | string, value: string): boolean {
  const haystack = typeof text === 'string' ? text : text.toString('latin1')
  return haystack.includes(value) || haystack.includes(Buffer.from(value).toString('base64'))
}

/**
 * Scans everything a command left: its output, every file under HOME (the store included),
 * the working directory and its TMPDIR (which must be left empty). The dotenv file is the
 * test's own input; it must be unchanged. Throws naming the place, never the value.
 */
export function scan(world: World, canaries: string[], result: CliResult, options: Scan): void {
  const {tmp} = options
  const reveal = options.reveal ?? []
  for (const value of reveal) {
    if (!containsValue(result.stdoutBytes, value)) throw new Error('a value the command must print is missing from stdout')
  }

  assertNoCanary(result.stdoutBytes, canaries.filter((value) => !reveal.includes(value)), 'stdout')
  assertNoCanary(result.stderr, canaries.filter((value) => !options.argv?.includes(value)), 'stderr')
  // The master key is a secret too: it may only be in its own file.
  const keys = ['master.key', 'master.key.new'].map((name) => join(world.home, '.keyflow', name)).filter((path) => existsSync(path))
  const masterKeys = keys.map((path) => readFileSync(path, 'utf8').trim())
  assertNoCanary(result.stdoutBytes, masterKeys, 'stdout')
  assertNoCanary(result.stderr, masterKeys, 'stderr')
  assertNoCanaryInTree(world.home, [...canaries, ...masterKeys], (path) => keys.includes(path))
  assertNoCanaryInTree(world.cwd, masterKeys)
  assertNoCanaryInTree(world.cwd, canaries, (path) => path === world.dotenvFile)
  if (readFileSync(world.dotenvFile, 'utf8') !== world.dotenvText) throw new Error('the dotenv file was changed')
  const left = files(tmp)
  if (left.length > 0) throw new Error(`TMPDIR is not empty after the command: ${left.join(', ')}`)
  const logs = [...files(world.home), ...files(world.cwd)].filter((path) => /\.log$/i.test(path) && !path.startsWith(world.sfLogDir))
  if (logs.length > 0) throw new Error(`log files were written: ${logs.join(', ')}`)
  rmSync(tmp, {force: true, recursive: true})
}
