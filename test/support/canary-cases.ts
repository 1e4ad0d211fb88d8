/* eslint-disable camelcase -- block fields keep Prefect's snake_case names */
import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {statSync} from 'node:fs'

import {runCli} from './cli.js'
import {allCanaries, Canaries, createWorld, files, PLACES, scan, Servers, startServers, TYPES_FILE, World} from './leak-world.js'
import {requireMoto} from './moto.js'
import {passwordConfig} from './snowflake-fixture.js'

/**
 * The canary suite (README "Security model", promises 2 and 3): every command in every mode,
 * its errors and its --help, run through the built CLI with secrets seeded in every source;
 * after each command its stdout (except where printing the value is its job), stderr, HOME
 * (the block store), the working directory and a private TMPDIR are searched for every canary.
 * The table runs in three modes: plainly, with every debug switch on (KEYFLOW_DEBUG, DEBUG=*
 * for the libraries, NODE_DEBUG=* for Node's own traces: http, net, tls, child_process, ...),
 * and with the blocks in the aws store. Each mode is a test file of its own
 * (test/leaks/canary-*.test.ts), with its own servers, so parallel jobs run them side by side.
 */

interface Case {
  args: (v: Canaries) => string[]
  /**
   * The user typed this canary into argv (keyflow refuses it). argv is public already, and
   * oclif's DEBUG trace repeats process.argv before keyflow runs: not scanned on stderr then.
   */
  argvCanary?: (v: Canaries) => string
  /**
   * On the aws block store: 'n/a' where the case is about the local master key (the aws store
   * has none: KMS encrypts), or another exit code.
   */
  aws?: 'n/a' | number
  code: number
  env?: (v: Canaries, world: World) => Record<string, string>
  input?: (v: Canaries, servers: Servers) => string
  /** Canaries stdout must hold: printing them is the command's job. */
  reveal?: (v: Canaries) => string[]
  /** What stderr must say, e.g. a warning naming a variable (never its value). */
  stderr?: RegExp
  title: string
}

const CONNECTOR = 'snowflake-connector'
/** The child prints its whole environment: under `run` every injected value must come out masked. */
const PRINT_ENV = ['--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))']
const wrongKey = (v: Canaries) => ({KEYFLOW_MASTER_KEY: v.wrongMasterKey})
const fixed = (...args: string[]) => () => args

function connector(servers: Servers, password: unknown): string {
  const config = passwordConfig(servers.fixture)
  return JSON.stringify({...config, credentials: {...config.credentials, password}})
}

const HELP = [
  'help',
  'init',
  'doctor',
  'completion',
  'secret get',
  'cache ls',
  'cache clear',
  'secret set',
  'secret ls',
  'secret rm',
  'secret restore',
  'secret history',
  'run',
  'sql',
  'block register',
  'block create',
  'block update',
  'block ls',
  'block inspect',
  'block check',
  'block delete',
  'block rekey',
  'block type ls',
  'block type inspect',
].map((command): Case => ({args: fixed(...command.split(' '), '--help'), code: 0, title: `${command} --help`}))

const CASES: Case[] = [
  // secret get: every source, every output mode
  {args: fixed('secret', 'get', 'CTX_SECRET'), code: 0, reveal: (v) => [v.context], title: 'secret get: context'},
  {args: fixed('secret', 'get', 'ENV_SECRET', '--json'), code: 0, reveal: (v) => [v.env], title: 'secret get --json: env'},
  {args: fixed('secret', 'get', 'DOTENV_SECRET'), code: 0, reveal: (v) => [v.dotenv], title: 'secret get: dotenv (only the asked key)'},
  {args: fixed('secret', 'get', 'DOTENV_SECRET', '--explain'), code: 0, title: 'secret get --explain: dotenv'},
  {args: fixed('secret', 'get', 'PLAIN=leaks/plain', '--format', 'env'), code: 0, reveal: (v) => [v.awsPlain], title: 'secret get --format env: AWS'},
  {args: fixed('secret', 'get', 'leaks/json#password', '--json'), code: 0, reveal: (v) => [v.awsJsonPassword], title: 'secret get --json: a key of an AWS JSON secret'},
  {args: fixed('secret', 'get', 'leaks/json#password', '--explain'), code: 0, title: 'secret get --explain: AWS JSON key'},
  {args: fixed('secret', 'get', 'leaks/json', '--explain', '--json'), code: 0, title: 'secret get --explain --json: AWS JSON secret'},
  {args: fixed('secret', 'get', 'leaks/binary', '--base64'), code: 0, reveal: (v) => [v.awsBinary], title: 'secret get --base64: AWS binary'},
  {args: fixed('secret', 'get', 'leaks/binary', '--explain'), code: 0, title: 'secret get --explain: AWS binary'},
  // The encrypted cache: HOME (the cache directory in it) is scanned after each, like the block store.
  {args: fixed('secret', 'get', 'leaks/json#password', '--cache-ttl', '5m', '--json'), code: 0, reveal: (v) => [v.awsJsonPassword], title: 'secret get --cache-ttl --json: stored in the cache'},
  {args: fixed('secret', 'get', 'leaks/binary', '--cache-ttl', '5m', '--base64'), code: 0, reveal: (v) => [v.awsBinary], title: 'secret get --cache-ttl: a binary secret stored'},
  {args: fixed('secret', 'get', 'leaks/json#password', '--cache-ttl', '5m', '--explain'), code: 0, title: 'secret get --explain: served from the cache'},
  {args: fixed('secret', 'get', 'leaks/json', '--offline', '--cache-ttl', '5m', '--explain', '--json'), code: 0, title: 'secret get --offline --explain --json'},
  {args: fixed('cache', 'ls'), code: 0, title: 'cache ls'},
  {args: fixed('cache', 'ls', '--json', '--cache-ttl', '5m'), code: 0, title: 'cache ls --json'},
  {args: fixed('run', '--pristine', '--cache-ttl', '5m', '--secret', 'P=leaks/json#password', ...PRINT_ENV), code: 0, title: 'run --cache-ttl: from the cache, masked'},
  {args: fixed('cache', 'clear', 'leaks/binary', '--json'), code: 0, title: 'cache clear NAME --json'},
  {args: fixed('secret', 'get', 'NO_SUCH_SECRET'), code: 3, title: 'secret get: not found'},
  {args: fixed('secret', 'get', 'leaks/json#a..b', '--json'), code: 2, title: 'secret get: malformed reference'},
  {args: fixed('secret', 'get', 'leaks/plain#password'), code: 5, title: 'secret get: a key of a secret that is not JSON'},
  {args: fixed('secret', 'get', 'leaks/binary#password', '--json'), code: 5, title: 'secret get --json: a key of a binary secret'},
  {args: fixed('secret', 'get', 'leaks/json#missing'), code: 5, title: 'secret get: a missing key of a JSON secret'},
  {args: fixed('secret', 'get', 'leaks/binary', '--format', 'env'), code: 5, title: 'secret get: binary as env'},
  {args: fixed('secret', 'get', 'ENV_SECRET', '--format', 'bogus'), code: 2, title: 'secret get: bad flag value'},
  {args: fixed('secret', 'get', 'BAD'), code: 4, env: (_v, w) => ({KEYFLOW_ENV_FILES: w.badDotenv}), title: 'secret get: a dotenv file that is not UTF-8'},
  {args: fixed('secret', 'get', 'ENV_SECRET', '--explain'), code: 8, env: (_v, w) => ({KEYFLOW_PROJECT_FILE: w.badProject}), title: 'secret get: a malformed project file'},
  {args: fixed('run', ...PRINT_ENV), code: 8, env: (_v, w) => ({KEYFLOW_PROJECT_FILE: w.badProject}), title: 'run: a malformed project file'},

  // secret set / ls / history / rm / restore: values from stdin only, never echoed
  {args: fixed('secret', 'set', 'leaks/written', '--to', 'aws'), code: 0, input: (v) => v.setAws, title: 'secret set: to AWS'},
  {args: fixed('secret', 'set', 'leaks/written', '--to', 'aws', '--json'), code: 0, input: (v) => v.setAws, title: 'secret set --json: a new AWS version'},
  {args: fixed('secret', 'set', 'leaks/written-json#token', '--to', 'aws', '--json'), code: 0, input: (v) => v.setKey, title: 'secret set --json: a key of a JSON secret'},
  {args: fixed('secret', 'set', 'SET_DOTENV'), code: 0, env: (_v, w) => ({KEYFLOW_SECRETS_WRITE_TO: `dotenv=${w.writtenDotenv}`}), input: (v) => v.setDotenv, title: 'secret set: to a dotenv file'},
  {args: fixed('secret', 'set', 'SET_DOTENV#key'), code: 5, env: (_v, w) => ({KEYFLOW_SECRETS_WRITE_TO: `dotenv=${w.writtenDotenv}`}), input: (v) => v.cliLiteral, title: 'secret set: a key of a dotenv value that is not JSON'},
  {args: fixed('secret', 'set', 'leaks/plain#key', '--to', 'aws', '--json'), code: 5, input: (v) => v.cliLiteral, title: 'secret set --json: a key of an AWS secret that is not JSON'},
  {args: fixed('secret', 'set', 'leaks/binary#key', '--to', 'aws'), code: 5, input: (v) => v.cliLiteral, title: 'secret set: a key of a binary AWS secret'},
  {args: (v) => ['secret', 'set', 'leaks/argv', v.cliLiteral], argvCanary: (v) => v.cliLiteral, code: 2, title: 'secret set: a value in argv refused'},
  {args: (v) => ['secret', 'set', `DB_PASSWORD=${v.cliLiteral}`, '--json'], argvCanary: (v) => v.cliLiteral, code: 2, title: 'secret set --json: NAME=VALUE refused'},
  {args: fixed('secret', 'set', 'leaks/x', '--to', 's3'), code: 2, input: (v) => v.cliLiteral, title: 'secret set: unknown target'},
  {args: fixed('secret', 'set', 'leaks/empty', '--to', 'aws'), code: 5, input: () => '', title: 'secret set: empty value'},
  {args: fixed('secret', 'set', 'BAD'), code: 4, env: (_v, w) => ({KEYFLOW_SECRETS_WRITE_TO: `dotenv=${w.badDotenv}`}), input: (v) => v.cliLiteral, title: 'secret set: a dotenv file that is not UTF-8'},
  {args: fixed('secret', 'ls'), code: 0, title: 'secret ls: every source'},
  {args: fixed('secret', 'ls', '--json'), code: 0, env: (_v, w) => ({KEYFLOW_ENV_FILES: `${w.dotenvFile}:${w.writtenDotenv}`}), title: 'secret ls --json: two dotenv files'},
  {args: fixed('secret', 'history', 'leaks/written'), code: 0, title: 'secret history'},
  {args: fixed('secret', 'history', 'leaks/json', '--json'), code: 0, title: 'secret history --json'},
  {args: fixed('secret', 'history', 'leaks/nope'), code: 3, title: 'secret history: not found'},
  {args: fixed('secret', 'rm', 'leaks/written', '--to', 'aws', '--yes', '--json'), code: 0, title: 'secret rm --json: scheduled AWS deletion'},
  {args: fixed('secret', 'restore', 'leaks/written', '--json'), code: 0, title: 'secret restore --json'},
  {args: fixed('secret', 'rm', 'SET_DOTENV', '--yes'), code: 0, env: (_v, w) => ({KEYFLOW_SECRETS_WRITE_TO: `dotenv=${w.writtenDotenv}`}), title: 'secret rm: a dotenv line'},
  {args: fixed('secret', 'rm', 'leaks/nope', '--to', 'aws', '--yes'), code: 3, title: 'secret rm: not found'},
  // mistakes (issue 15): an unknown command never repeats what follows the unknown word
  {args: (v) => ['secret', 'put', 'FOO', v.cliLiteral], argvCanary: (v) => v.cliLiteral, code: 2, title: 'unknown command: a value typed after it'},
  {args: (v) => ['secretz', 'set', 'FOO', v.cliLiteral, '--json'], argvCanary: (v) => v.cliLiteral, code: 2, title: 'unknown command --json: a value typed after it'},
  {args: fixed('help', '--json'), code: 0, title: 'help --json'},
  {args: fixed('--version', '--json'), code: 0, title: '--version --json'},
  {args: fixed('--json', '--version'), code: 0, title: '--json --version'},

  {args: fixed('doctor'), code: 0, title: 'doctor'},
  {args: fixed('doctor', '--json'), code: 0, title: 'doctor --json'},

  // block types
  {args: fixed('block', 'register', '-f', TYPES_FILE), code: 0, title: 'block register'},
  {args: fixed('block', 'register', '-f', TYPES_FILE, '--json'), code: 0, title: 'block register --json'},
  {args: fixed('block', 'type', 'ls'), code: 0, title: 'block type ls'},
  {args: fixed('block', 'type', 'ls', '--json'), code: 0, title: 'block type ls --json'},
  {args: fixed('block', 'type', 'inspect', 'acme-api'), code: 0, title: 'block type inspect'},
  {args: fixed('block', 'type', 'inspect', 'snowflake-credentials', '--json'), code: 0, title: 'block type inspect --json'},
  {args: fixed('block', 'type', 'inspect', 'no-such-type'), code: 3, title: 'block type inspect: not found'},

  // block create: literals from stdin, references, nested connectors
  {args: fixed('block', 'create', 'secret', 'lit', '--stdin-field', 'value'), code: 0, input: (v) => v.blockLiteral, title: 'block create: literal from stdin'},
  {args: fixed('block', 'create', 'secret', 'ref', '--field', 'value=aws-sm://leaks/json#password', '--json'), code: 0, title: 'block create --json: reference'},
  {args: fixed('block', 'create', 'acme-api', 'acme', '--from-file', '-'), code: 0, input: (v) => JSON.stringify({api_key: v.acmeKey, tier: 'gold'}), title: 'block create: user type'},
  {
    args: fixed('block', 'create', 'aws-credentials', 'dev', '--from-file', '-', '--json'),
    code: 0,
    input: (v) => JSON.stringify({aws_access_key_id: 'AKIALEAKS', aws_secret_access_key: v.credsSecretKey, aws_session_token: {$ref: 'env://ENV_SECRET'}, region_name: 'us-east-1'}),
    title: 'block create --json: literal and reference from a file',
  },
  {args: fixed('block', 'create', CONNECTOR, 'sf', '--from-file', '-'), code: 0, input: (v, s) => connector(s, v.sfPassword), title: 'block create: Snowflake connector'},
  {args: fixed('block', 'create', CONNECTOR, 'sfref', '--from-file', '-'), code: 0, input: (_v, s) => connector(s, {$ref: 'aws-sm://leaks/sf'}), title: 'block create: Snowflake connector, password in AWS'},
  {args: fixed('block', 'create', CONNECTOR, 'sfbad', '--from-file', '-'), code: 0, input: (v, s) => connector(s, v.sfWrong), title: 'block create: Snowflake connector, wrong password'},
  {args: (v) => ['block', 'create', 'secret', 'argv', '--field', `value=${v.cliLiteral}`], argvCanary: (v) => v.cliLiteral, code: 2, title: 'block create: literal secret in argv refused'},
  {args: fixed('block', 'create', 'secret', 'broken', '--from-file', '-'), code: 8, input: (v) => `{"value": "${v.cliLiteral}`, title: 'block create: malformed JSON input'},
  {args: fixed('block', 'create', 'acme-api', 'bad', '--from-file', '-', '--json'), code: 6, input: (v) => JSON.stringify({api_key: `x${v.cliLiteral}`, tier: v.cliLiteral}), title: 'block create --json: invalid values'},
  {args: fixed('block', 'create', 'secret', 'lit', '--stdin-field', 'value'), code: 7, input: (v) => v.cliLiteral, title: 'block create: exists'},

  // block reads
  {args: fixed('block', 'ls'), code: 0, title: 'block ls'},
  {args: fixed('block', 'ls', '--json'), code: 0, title: 'block ls --json'},
  {args: fixed('block', 'inspect', 'secret/lit'), code: 0, title: 'block inspect (masked)'},
  {args: fixed('block', 'inspect', 'aws-credentials/dev', '--json'), code: 0, title: 'block inspect --json (masked)'},
  {args: fixed('block', 'inspect', `${CONNECTOR}/sf`), code: 0, title: 'block inspect: connector (masked)'},
  {args: fixed('block', 'inspect', 'secret/lit', '--reveal'), code: 0, reveal: (v) => [v.blockLiteral], title: 'block inspect --reveal'},
  {args: fixed('block', 'inspect', 'aws-credentials/dev', '--reveal', '--json'), code: 0, reveal: (v) => [v.credsSecretKey], title: 'block inspect --reveal --json'},
  {args: fixed('block', 'inspect', 'secret/ref', '--reveal'), code: 0, title: 'block inspect --reveal: a reference'},
  {args: fixed('block', 'inspect', 'secret/lit', '--reveal'), aws: 'n/a', code: 8, env: wrongKey, title: 'block inspect --reveal: wrong master key'},
  {args: fixed('block', 'inspect', 'secret/nope'), code: 3, title: 'block inspect: not found'},
  // block:// references: a block field as a secret, from the mode's store
  {args: fixed('secret', 'get', 'block://secret/lit'), code: 0, reveal: (v) => [v.blockLiteral], title: 'secret get block://: a literal secret field'},
  {args: fixed('secret', 'get', 'block://secret/ref', '--json'), code: 0, reveal: (v) => [v.awsJsonPassword], title: 'secret get --json block://: a field holding an AWS reference'},
  {args: fixed('secret', 'get', 'block://secret/lit', '--explain'), code: 0, title: 'secret get --explain block://'},
  {args: fixed('secret', 'get', 'block://acme-api/acme#api_key', '--explain', '--json'), code: 0, title: 'secret get --explain --json block://TYPE/NAME#FIELD'},
  {args: fixed('secret', 'get', 'block://secret/nope'), code: 3, title: 'secret get block://: not found'},
  {args: fixed('secret', 'get', 'block://acme-api/acme#tier', '--json'), code: 0, title: 'secret get block://: a plain field'},
  {args: fixed('secret', 'get', 'block://secret/lit'), aws: 'n/a', code: 8, env: wrongKey, title: 'secret get block://: wrong master key'},
  {args: fixed('run', '--pristine', '--secret', 'L=block://secret/lit', '--secret', 'K=block://acme-api/acme#api_key', ...PRINT_ENV), code: 0, title: 'run --pristine --secret block://: masked'},
  {args: fixed('run', '--explain', '--secret', 'L=block://secret/lit', '--block', 'acme-api/acme', ...PRINT_ENV), code: 0, title: 'run --explain: block:// and --block'},
  {args: fixed('run', '--explain', '--json', '--secret', 'PW=leaks/json#password', '--block', 'aws-credentials/dev', ...PRINT_ENV), code: 0, title: 'run --explain --json'},
  {args: fixed('block', 'check'), code: 0, title: 'block check: every document, references resolved'},
  {args: fixed('block', 'check', '--json'), code: 0, title: 'block check --json'},

  // block update
  {args: fixed('block', 'update', 'secret/lit', '--stdin-field', 'value'), code: 0, input: (v) => v.blockUpdated, title: 'block update: literal from stdin'},
  {args: fixed('block', 'update', 'aws-credentials/dev', '--unset', 'aws_session_token', '--json'), code: 0, title: 'block update --json: unset'},
  {args: (v) => ['block', 'update', 'acme-api/acme', '--field', `api_key=${v.cliLiteral}`], argvCanary: (v) => v.cliLiteral, code: 2, title: 'block update: literal secret in argv refused'},
  {args: fixed('block', 'update', 'acme-api/acme', '--field', 'tier=bronze', '--json'), code: 6, title: 'block update --json: invalid value'},
  {args: fixed('block', 'update', 'acme-api/acme', '--from-file', '-'), code: 8, input: (v) => `{"api_key": "${v.cliLiteral}`, title: 'block update: malformed JSON input'},
  {args: fixed('block', 'update', 'secret/lit', '--stdin-field', 'value'), aws: 'n/a', code: 8, env: wrongKey, input: (v) => v.cliLiteral, title: 'block update: wrong master key'},

  // run: the child prints its environment; everything injected comes out masked
  {
    args: fixed('run', '--secret', 'CTX_SECRET', '--secret', 'ENV_SECRET', '--secret', 'DOTENV_SECRET', '--secret', 'PW=leaks/json#password', '--secret', 'PLAIN=leaks/plain', '--block', 'secret/lit', '--block', 'aws-credentials/dev', '--block', 'acme-api/acme', ...PRINT_ENV),
    code: 0,
    title: 'run: every source, masked',
  },
  {args: fixed('run', '--json', '--pristine', '--env-style', 'both', '--source', 'leaks/json', '--block', `${CONNECTOR}/sfref`, ...PRINT_ENV), code: 0, title: 'run --json: a JSON source and a connector'},
  {
    args: fixed('run', '--env-style', 'plain', '--secret', 'ENV_SECRET=leaks/plain', '--', process.execPath, '-e', 'process.stdout.write(process.env.ENV_SECRET)'),
    code: 0,
    stderr: /ENV_SECRET/,
    title: 'run: an injected secret replaces an inherited one (warning)',
  },
  {args: fixed('run', '--secret', 'NO_SUCH_SECRET', ...PRINT_ENV), code: 3, title: 'run: not found'},
  {args: fixed('run', '--secret', 'PW=leaks/json#password', '--', '/nonexistent/program'), code: 127, title: 'run: a program that does not exist'},
  {args: fixed('run', '--secret', 'X=leaks/json#a..b', ...PRINT_ENV), code: 2, title: 'run: malformed reference'},
  {args: fixed('run', '--json', '--source', 'leaks/plain', ...PRINT_ENV), code: 5, title: 'run --json: a source that is not JSON'},
  {
    args: fixed('run', '--env-style', 'plain', '--secret', 'B=leaks/binary', '--', process.execPath, '-e', 'process.stdout.write(process.env.B)'),
    code: 0,
    stderr: /leaks\/binary" is binary: B gets it base64-encoded/,
    title: 'run: a binary secret, injected base64-encoded and masked',
  },
  {args: fixed('run', '--block', 'secret/lit', ...PRINT_ENV), aws: 'n/a', code: 8, env: wrongKey, title: 'run --block: wrong master key'},
  {args: fixed('run', '--block', 'secret/nope', '--secret', 'PW=leaks/json#password', ...PRINT_ENV), code: 3, title: 'run --block: not found'},

  // sql: password literal, password in AWS, SQL error, login error
  {args: fixed('sql', '--block', `${CONNECTOR}/sf`, 'SELECT 42 AS answer'), code: 0, title: 'sql'},
  {args: fixed('sql', '--block', `${CONNECTOR}/sfref`, '--format', 'json', 'SELECT 42 AS answer'), code: 0, title: 'sql --format json: password in AWS'},
  {args: fixed('sql', '--json', '--block', `${CONNECTOR}/sf`, 'SELECT * FROM no_such_table'), code: 9, title: 'sql --json: SQL error'},
  {args: fixed('sql', '--block', `${CONNECTOR}/sfbad`, 'SELECT 1'), code: 9, title: 'sql: login error'},
  {args: fixed('sql', '--block', `${CONNECTOR}/sf`, 'SELECT 1'), aws: 'n/a', code: 8, env: wrongKey, title: 'sql: wrong master key'},

  // delete and rekey last: they change the store the cases above read
  {args: fixed('block', 'delete', 'secret/ref', '--yes'), code: 0, title: 'block delete'},
  {args: fixed('block', 'delete', 'acme-api/acme', '--yes', '--json'), code: 0, title: 'block delete --json'},
  {args: fixed('block', 'delete', 'secret/nope', '--yes'), code: 3, title: 'block delete: not found'},
  {args: fixed('block', 'rekey'), aws: 'n/a', code: 8, env: (v) => ({...wrongKey(v), KEYFLOW_NEW_MASTER_KEY: v.newMasterKey}), title: 'block rekey: wrong master key'},
  {args: fixed('block', 'rekey'), aws: 2, code: 0, title: 'block rekey'},
  {args: fixed('block', 'rekey', '--json'), aws: 2, code: 0, title: 'block rekey --json'},
  {args: fixed('block', 'inspect', 'secret/lit', '--reveal', '--json'), code: 0, reveal: (v) => [v.blockUpdated], title: 'block inspect --reveal --json after rekey'},
  ...HELP,
]

interface Mode {
  aws?: boolean
  debug: boolean
  env: Record<string, string>
  name: string
}

const MODES: Record<'aws' | 'debug' | 'plain', Mode> = {
  aws: {aws: true, debug: false, env: {KEYFLOW_BLOCK_STORE: 'aws', KEYFLOW_BLOCKS_PREFIX: 'leaks-store/'}, name: 'blocks in the aws store'},
  debug: {debug: true, env: {DEBUG: '*', KEYFLOW_DEBUG: '1', NODE_DEBUG: '*'}, name: 'with every debug switch on'},
  plain: {debug: false, env: {}, name: 'plain'},
}

const casesIn = (mode: Mode) => CASES.filter((each) => !(mode.aws && each.aws === 'n/a'))

/**
 * Registers the canary suite of one mode: plain, every debug switch on, or every block in the
 * aws store (moto), where nothing of a document may reach the local disk either.
 */
export function canarySuite(key: keyof typeof MODES): void {
  const mode = MODES[key]
  const runs = casesIn(mode).length
  describe(`leaks: the canary suite, ${mode.name} (${runs} command lines x ${PLACES.length} places = ${runs * PLACES.length} canary paths)`, () => {
    let servers: Servers
    let world: World

    before(async function () {
      requireMoto(this)
      servers = await startServers()
      world = createWorld(servers)
    })

    after(async () => {
      world?.cleanup()
      await servers?.stop()
    })

    for (const testCase of casesIn(mode)) {
      it(testCase.title, async () => {
        const {values} = servers
        const {env, tmp} = world.env({...mode.env, ...testCase.env?.(values, world)})
        const result = await runCli(testCase.args(values), {cwd: world.cwd, env, input: testCase.input?.(values, servers)})
        const argv = mode.debug && testCase.argvCanary ? [testCase.argvCanary(values)] : []
        scan(world, allCanaries(servers), result, {argv, reveal: testCase.reveal?.(values), tmp})
        expect(result.code, 'exit code').to.equal(mode.aws && typeof testCase.aws === 'number' ? testCase.aws : testCase.code)
        if (testCase.stderr) expect(testCase.stderr.test(result.stderr), 'stderr').to.equal(true)
        // The debug switches took effect: there was debug output to scan.
        if (mode.debug) expect(/^\S+ \d+: |oclif:/m.test(result.stderr), 'debug output on stderr').to.equal(true)
      })
    }

    it("wrote the driver's TRACE log the user's Snowflake client config asked for, which the scans found no secret in", () => {
      const logs = files(world.sfLogDir).filter((path) => path.endsWith('snowflake.log'))
      expect(logs.length).to.equal(1)
      expect(statSync(logs[0]).size).to.be.greaterThan(0)
    })
  })
}
