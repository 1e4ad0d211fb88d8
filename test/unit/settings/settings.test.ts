import {expect} from 'chai'
import {afterEach, beforeEach, describe, it} from 'mocha'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, KeyflowError} from '../../../src/lib/errors.js'
import {resolveSettings, settingsFlags} from '../../../src/lib/invocation.js'
import {SettingsInput} from '../../../src/lib/settings/settings.js'
import {tempDir} from '../../support/cli.js'

describe('settings', () => {
  let dir: ReturnType<typeof tempDir>
  let home: string
  let project: string

  beforeEach(() => {
    dir = tempDir()
    home = join(dir.path, 'home')
    project = join(dir.path, 'project')
    mkdirSync(home)
    mkdirSync(join(project, 'sub', 'deeper'), {recursive: true})
  })

  afterEach(() => dir.cleanup())

  const writeUser = (config: unknown) => writeFileSync(join(home, 'config.json'), JSON.stringify(config))
  const writeProject = (config: unknown) => writeFileSync(join(project, 'keyflow.json'), JSON.stringify(config))
  const settings = (input: SettingsInput = {}) =>
    resolveSettings({cwd: join(project, 'sub', 'deeper'), ...input, env: {KEYFLOW_HOME: home, ...input.env}})

  function settingsError(input: SettingsInput = {}): KeyflowError {
    try {
      settings(input)
    } catch (error) {
      expect(error).to.be.instanceOf(KeyflowError)
      return error as KeyflowError
    }

    throw new Error('resolveSettings should fail')
  }

  it('has defaults', () => {
    const resolved = settings()
    expect(resolved).to.deep.include({
      awsConnectTimeoutMs: 3000,
      awsMaxAttempts: 3,
      awsPrefix: '',
      awsRequestTimeoutMs: 10_000,
      awsRetryMode: 'standard',
      awsTotalTimeoutMs: 60_000,
      home,
      sources: ['context', 'env', 'dotenv', 'aws'],
    })
    expect([resolved.awsProfile, resolved.awsRegion, resolved.envFiles, resolved.projectFile]).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    expect(resolved.origins.awsMaxAttempts).to.equal('default')
  })

  it('takes flag > env > keyflow.json > user config > default, and says where each came from', () => {
    writeUser({aws: {maxAttempts: 4, prefix: 'user/', region: 'eu-north-1', retryMode: 'adaptive'}, sources: ['aws']})
    writeProject({aws: {maxAttempts: 5, prefix: 'project/', region: 'eu-west-1'}})
    const resolved = settings({
      env: {KEYFLOW_AWS_MAX_ATTEMPTS: '6', KEYFLOW_AWS_REGION: 'us-west-2'},
      flags: {awsMaxAttempts: 7},
    })
    expect(resolved.awsMaxAttempts).to.equal(7)
    expect(resolved.origins.awsMaxAttempts).to.equal('flag --aws-max-attempts')
    expect(resolved.awsRegion).to.equal('us-west-2')
    expect(resolved.origins.awsRegion).to.equal('env KEYFLOW_AWS_REGION')
    expect(resolved.awsPrefix).to.equal('project/')
    expect(resolved.origins.awsPrefix).to.equal(`${join(project, 'keyflow.json')} (aws.prefix)`)
    expect(resolved.awsRetryMode).to.equal('adaptive')
    expect(resolved.origins.awsRetryMode).to.equal(`${join(home, 'config.json')} (aws.retryMode)`)
    expect(resolved.sources).to.deep.equal(['aws'])
    expect(resolved.awsRequestTimeoutMs).to.equal(10_000)
    expect(resolved.projectFile).to.equal(join(project, 'keyflow.json'))
  })

  it('reads KEYFLOW_* before the AWS variables, in order, and ignores empty ones', () => {
    expect(settings({env: {AWS_DEFAULT_REGION: 'c', AWS_REGION: 'b'}}).awsRegion).to.equal('b')
    expect(settings({env: {AWS_DEFAULT_REGION: 'c'}}).awsRegion).to.equal('c')
    expect(settings({env: {AWS_REGION: 'b', KEYFLOW_AWS_REGION: 'a'}}).awsRegion).to.equal('a')
    expect(settings({env: {AWS_REGION: 'b', KEYFLOW_AWS_REGION: ''}}).awsRegion).to.equal('b')
    expect(settings({env: {AWS_PROFILE: 'p', KEYFLOW_AWS_PROFILE: 'k'}}).awsProfile).to.equal('k')
  })

  it('finds keyflow.json upward from the working directory; KEYFLOW_PROJECT_FILE overrides or disables it', () => {
    writeProject({aws: {region: 'found'}})
    expect(settings().awsRegion).to.equal('found')
    const other = join(dir.path, 'other.json')
    writeFileSync(other, JSON.stringify({aws: {region: 'other'}}))
    expect(settings({env: {KEYFLOW_PROJECT_FILE: other}}).awsRegion).to.equal('other')
    expect(settings({env: {KEYFLOW_PROJECT_FILE: ''}}).awsRegion).to.equal(undefined)
  })

  it('keeps the raw project file for sections other modules own', () => {
    writeProject({blocks: {x: 1}, run: {profiles: {}}})
    expect(settings().projectConfig).to.deep.equal({blocks: {x: 1}, run: {profiles: {}}})
  })

  it('parses sources from flags, env and files, and env files relative to where they are set', () => {
    expect(settings({flags: {sources: 'env, aws'}}).sources).to.deep.equal(['env', 'aws'])
    expect(settings({env: {KEYFLOW_SOURCES: 'dotenv'}}).sources).to.deep.equal(['dotenv'])
    writeProject({envFiles: ['conf/a.env', '/abs/b.env']})
    expect(settings().envFiles).to.deep.equal([join(project, 'conf', 'a.env'), '/abs/b.env'])
    expect(settings({env: {KEYFLOW_ENV_FILES: 'x.env:/y.env'}}).envFiles).to.deep.equal([
      join(project, 'sub', 'deeper', 'x.env'),
      '/y.env',
    ])
    expect(settings({flags: {envFiles: ['f.env']}}).envFiles).to.deep.equal([join(project, 'sub', 'deeper', 'f.env')])
  })

  it('maps command-line flag names to settings', () => {
    expect(settingsFlags({'aws-max-attempts': 2, explain: true, prefix: 'p/', region: 'r'})).to.deep.equal({
      awsMaxAttempts: 2,
      awsPrefix: 'p/',
      awsRegion: 'r',
    })
  })

  describe('bad settings: exit 2 naming where the value came from', () => {
    const cases: Array<[string, SettingsInput, string]> = [
      ['an unknown source', {flags: {sources: 'env,vault'}}, 'flag --sources'],
      ['a source listed twice', {env: {KEYFLOW_SOURCES: 'env,env'}}, 'env KEYFLOW_SOURCES'],
      ['an empty source list', {flags: {sources: ','}}, 'flag --sources'],
      ['a number out of range', {env: {KEYFLOW_AWS_MAX_ATTEMPTS: '0'}}, 'env KEYFLOW_AWS_MAX_ATTEMPTS'],
      ['a number that is not one', {env: {KEYFLOW_AWS_REQUEST_TIMEOUT_MS: '10s'}}, 'env KEYFLOW_AWS_REQUEST_TIMEOUT_MS'],
      ['a fraction', {flags: {awsConnectTimeoutMs: 1.5}}, 'flag --aws-connect-timeout'],
      ['an unknown retry mode', {env: {KEYFLOW_AWS_RETRY_MODE: 'legacy'}}, 'env KEYFLOW_AWS_RETRY_MODE'],
    ]
    for (const [what, input, where] of cases) {
      it(what, () => {
        const error = settingsError(input)
        expect(error.exit).to.equal(ExitCode.USAGE)
        expect(error.code).to.equal('INVALID_SETTING')
        expect(error.where).to.equal(where)
        expect(error.fix).to.be.a('string')
      })
    }

    it('a wrong type in a config file', () => {
      writeProject({aws: {region: 5}})
      const error = settingsError()
      expect(error.exit).to.equal(ExitCode.USAGE)
      expect(error.where).to.equal(`${join(project, 'keyflow.json')} (aws.region)`)
    })

    it('an unknown top-level key, or a config that is not an object', () => {
      writeUser({region: 'x'})
      expect(settingsError().message).to.equal('Unknown key "region" in the user config file.')
      writeUser(['aws'])
      expect(settingsError().where).to.equal(join(home, 'config.json'))
    })

    it('a misspelt key under aws, or an aws that is not an object', () => {
      writeProject({aws: {regoin: 'eu-west-1'}})
      const misspelt = settingsError()
      expect(misspelt.message).to.equal('Unknown key "aws.regoin" in the project file.')
      expect(misspelt.fix).to.contain('region')
      writeProject({aws: 'eu-west-1'})
      expect(settingsError().message).to.equal('"aws" in the project file must be an object.')
    })

    it('malformed JSON: exit 8 with line and column, never the text', () => {
      writeFileSync(join(project, 'keyflow.json'), '{\n  "aws": {"region": "kfcanary-settings"\n}')
      const error = settingsError()
      expect(error.exit).to.equal(ExitCode.INTEGRITY)
      expect(error.code).to.equal('MALFORMED_JSON')
      expect(error.message).to.match(/at line \d+, column \d+\.$/)
      expect(JSON.stringify(error.toJSON())).to.not.contain('kfcanary')
    })

    it('a BOM before the JSON is accepted', () => {
      writeFileSync(join(project, 'keyflow.json'), '\uFEFF{"aws": {"region": "bom"}}')
      expect(settings().awsRegion).to.equal('bom')
    })

    it('a KEYFLOW_PROJECT_FILE that does not exist: exit 3 naming it', () => {
      const error = settingsError({env: {KEYFLOW_PROJECT_FILE: join(dir.path, 'nope.json')}})
      expect(error.exit).to.equal(ExitCode.NOT_FOUND)
      expect(error.where).to.equal(join(dir.path, 'nope.json'))
    })

    it('a project file others may write is refused: it could turn masking off or redirect sources', () => {
      const file = join(dir.path, 'keyflow.json')
      writeFileSync(file, '{"sources": ["env"]}')
      chmodSync(file, 0o666)
      const error = settingsError({cwd: dir.path, env: {}})
      expect(error.code).to.equal('UNTRUSTED_PATH')
      expect(error.exit).to.equal(ExitCode.INTEGRITY)
      expect(error.where).to.equal(file)
      chmodSync(file, 0o644)
      expect(resolveSettings({cwd: dir.path, env: {KEYFLOW_HOME: dir.path}}).sources).to.deep.equal(['env'])
    })
  })
})
