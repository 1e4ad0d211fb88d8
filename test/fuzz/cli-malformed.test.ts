import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, runCli, tempDir} from '../support/cli.js'

/**
 * Malformed input through the built CLI: a clear message on stderr, the documented exit code,
 * nothing on stdout and never a stack trace.
 */

interface Case {
  args: string[]
  exit: number
  /** keyflow.json content for this run, if any. */
  project?: string
  says: string
}

const cases: Case[] = [
  {args: ['run', '--', 'true'], exit: 2, project: '{"run": {"secrets": 5}}', says: 'keyflow.json run.secrets'},
  {args: ['run', '--', 'true'], exit: 2, project: '{"run": {"mask": "sometimes"}}', says: 'Expected one of: auto, always, never'},
  {args: ['run', '--', 'true'], exit: 2, project: '{"run": {"secrets": {"DB": {"ref": 5}}}}', says: 'run.secrets.DB'},
  {args: ['run', '--', 'true'], exit: 2, project: '{"run": {"sources": ["%zz"]}}', says: 'run.sources[0]'},
  {args: ['run', '--', 'true'], exit: 2, project: '{"run": {"pristine": "yes"}}', says: 'pristine must be true or false'},
  {args: ['run', '--', 'true'], exit: 8, project: '{"run": ', says: 'not valid JSON'},
  {args: ['run', '--aws-max-attempts', 'abc', '--', 'true'], exit: 2, says: 'flag --aws-max-attempts'},
  {args: ['run', '--aws-connect-timeout', '0', '--', 'true'], exit: 2, says: 'flag --aws-connect-timeout'},
  {args: ['run', '--aws-request-timeout', '-5', '--', 'true'], exit: 2, says: 'Expected a whole number from 1 to'},
  {args: ['run', '--env-style', 'weird', '--', 'true'], exit: 2, says: 'prefect, plain, both'},
  {args: ['run', '--mask', 'x', '--', 'true'], exit: 2, says: 'auto, always, never'},
  {args: ['run', '--sources', 'vault', '--', 'true'], exit: 2, says: 'Unknown source "vault"'},
  {args: ['run', '--env-style', 'plain', '--secret', '1BAD', '--', 'true'], exit: 2, says: '1BAD'},
  {args: ['run', '--secret', 'keys', '--', 'true'], exit: 2, says: 'Invalid config key'},
  {args: ['run', '--block', 'no-slash', '--', 'true'], exit: 2, says: "must contain a '/'"},
  {args: ['block', 'inspect', 'NOSLASH'], exit: 2, says: "must contain a '/'"},
  {args: ['block', 'inspect', 'Secret/x'], exit: 2, says: 'lowercase letters'},
  {args: ['block', 'create', 'secret', 'x', '--field', '=v'], exit: 2, says: '--field needs FIELD=VALUE'},
  {args: ['block', 'create', 'secret', 'x', '--field', 'nope=v'], exit: 2, says: 'has no field "nope"'},
  {args: ['block', 'create', 'secret', 'a'.repeat(101)], exit: 2, says: 'at most 100'},
  {args: ['block', 'register', '-f', 'bad.json'], exit: 8, says: 'not valid JSON'},
  // Names of Object.prototype members once found a built-in collection on the prototype (exit 1).
  {args: ['block', 'register', '-m', 'constructor'], exit: 2, says: 'Unable to load constructor'},
  {args: ['block', 'register', '-m', 'toString'], exit: 2, says: 'Unable to load toString'},
  {args: ['block', 'create', 'secret', 'x', '--field', '__proto__=1'], exit: 2, says: 'has no field "__proto__"'},
  {args: ['block', 'register', '-f', 'not-types.json'], exit: 6, says: 'Nothing was registered'},
  {args: ['block', 'create', 'secret', 'x', '--from-file', 'bad.json'], exit: 8, says: 'not valid JSON'},
  {args: ['block', 'create', 'secret', 'x', '--from-file', 'sealed.json'], exit: 2, says: 'Encrypted values ($secret) cannot be given'},
  {args: ['block', 'create', 'snowflake-credentials', 'x', '--from-file', 'tostring.json'], exit: 6, says: 'authenticator'},
  // Deep nesting once overflowed the stack of recursive walks (exit 1); JSON.parse itself copes.
  {args: ['block', 'create', 'secret', 'x', '--from-file', 'deep.json'], exit: 2, says: 'nested more than 100 levels'},
  {args: ['block', 'create', 'snowflake-connector', 'x', '--field', `fetch_size=${'['.repeat(5000)}${']'.repeat(5000)}`], exit: 2, says: 'nested more than 100 levels'},
  {args: ['secret', 'get', '--env-file', 'deep.env', 'dotenv://DEEP#a'], exit: 5, says: 'nested too deeply'},
]

/** JSON nested `levels` deep: {"a":{"a":...1...}}. */
const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`

describe('malformed input through the CLI: clear message, documented exit, no stack trace', () => {
  let dir: ReturnType<typeof tempDir>

  before(() => {
    dir = tempDir()
    writeFileSync(join(dir.path, 'bad.json'), '{"slug": ')
    writeFileSync(join(dir.path, 'not-types.json'), '[{"slug": "Bad Slug", "fields": 5}]')
    writeFileSync(join(dir.path, 'sealed.json'), '{"value": {"$secret": {"alg": "x"}}}')
    // An object with its own toString once crashed the cross-field rules (exit 1).
    writeFileSync(join(dir.path, 'tostring.json'), '{"account": "a", "user": "u", "authenticator": {"toString": 1}}')
    writeFileSync(join(dir.path, 'deep.json'), `{"value": ${deep(20_000)}}`)
    writeFileSync(join(dir.path, 'deep.env'), `DEEP=${deep(20_000)}\n`)
  })

  after(() => dir.cleanup())

  for (const {args, exit, project, says} of cases) {
    it(`${args.join(' ').slice(0, 70)}${project ? ` with keyflow.json ${project}` : ''}: exit ${exit}`, async () => {
      const projectFile = join(dir.path, 'keyflow.json')
      if (project) writeFileSync(projectFile, project)
      const result = await runCli(args, {cwd: dir.path, env: {...baseEnv(dir.path), KEYFLOW_PROJECT_FILE: project ? projectFile : ''}})
      expect(result.code, result.stderr).to.equal(exit)
      expect(result.stderr).to.include(says)
      expect(result.stderr).to.match(/^Error: /)
      expect(result.stderr).to.not.match(/^\s+at /m)
      expect(result.stdout).to.equal('')
    })
  }
})
