import {expect} from 'chai'
import {before, describe, it} from 'mocha'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {assertNoCanary, canary} from '../support/canary.js'
import {baseEnv, CliResult, runCli} from '../support/cli.js'
import {
  ACCESS_DENIED,
  FaultRule,
  INTERNAL_ERROR,
  THROTTLING,
  TOO_MANY_REQUESTS,
  UNAVAILABLE,
} from '../support/fault-proxy.js'
import {motoClient} from '../support/moto.js'
import {freePort} from '../support/ports.js'
import {faultProxyPerFile, motoPerFile, tempDirPerTest} from '../support/suite-fixtures.js'

/** A secret-value answer with neither SecretString nor SecretBinary, as a broken endpoint might send. */
const withoutValue = ({SecretBinary: _binary, SecretString: _string, ...rest}: Record<string, unknown>) => rest
/** A BatchGetSecretValue answer whose entry for `name` has no value. */
const withoutValueFor = (name: string) => (answer: Record<string, unknown>) => ({
  ...answer,
  SecretValues: (answer.SecretValues as Array<Record<string, unknown>>).map((entry) => (entry.Name === name ? withoutValue(entry) : entry)),
})
const once = (operation: string, fault: FaultRule['fault'], times = 1): FaultRule => ({fault, operation, times})

/**
 * AWS faults, injected by a proxy in front of moto, seen through the built CLI. keyflow must
 * retry what is retryable, say so on stderr, give up after --aws-max-attempts with exit 4,
 * and never report an outage as "not found". "Bounded" means finishing before mocha's
 * timeout: no test measures time.
 */
describe('AWS faults', () => {
  const moto = motoPerFile({resetEachTest: false})
  const proxy = faultProxyPerFile(moto)
  const dir = tempDirPerTest()
  const values = {A: canary('a'), B: canary('b'), C: canary('c'), ONE: canary('one')}
  const canaries = Object.values(values)

  before(async () => {
    const sm = await motoClient(moto)
    for (const [name, value] of Object.entries(values)) {
      // eslint-disable-next-line no-await-in-loop
      await sm.create(name, value)
    }
  })

  /** Runs keyflow through the proxy with these faults, asking AWS only unless --sources is given. */
  async function keyflow(rules: FaultRule[], args: string[], env: Record<string, string> = proxy.env): Promise<CliResult> {
    proxy.reset(rules)
    const sources = args.includes('--sources') ? [] : ['--sources', 'aws']
    const result = await runCli(['secret', 'get', ...sources, ...args], {cwd: dir.path, env: {...baseEnv(dir.path), ...env}})
    assertNoCanary(result.stderr, canaries, 'stderr')
    return result
  }

  describe('retryable faults that clear: retried with backoff, then the value', () => {
    const cases: Array<[string, FaultRule['fault'], RegExp]> = [
      ['ThrottlingException (400)', THROTTLING, /is throttling requests \(ThrottlingException\); retrying with backoff \(attempt 1 of 3 failed\)/],
      ['TooManyRequestsException (429)', TOO_MANY_REQUESTS, /is throttling requests \(TooManyRequestsException\)/],
      ['HTTP 500', INTERNAL_ERROR, /failed \(InternalServiceError\); retrying/],
      ['HTTP 503', UNAVAILABLE, /failed \(ServiceUnavailable\); retrying/],
      ['a reset connection', {kind: 'reset'}, /did not answer \(ECONNRESET\); retrying/],
    ]
    for (const [what, fault, notice] of cases) {
      it(what, async () => {
        const result = await keyflow([once('GetSecretValue', fault, 2)], ['ONE', '--aws-max-attempts', '3', '--no-newline'])
        expect(result.code).to.equal(0)
        expect(result.stdout === values.ONE).to.equal(true)
        expect(result.stderr).to.match(notice)
        expect(result.stderr.match(/^Warning: /gm)).to.have.length(2)
        expect(proxy.counts.GetSecretValue).to.equal(3)
      })
    }

    it('latency below the request timeout is no fault at all', async () => {
      const result = await keyflow([once('GetSecretValue', {kind: 'latency', ms: 300})], ['ONE', '--aws-request-timeout', '5000', '--no-newline'])
      expect(result.code).to.equal(0)
      expect(result.stdout === values.ONE).to.equal(true)
      expect(result.stderr).to.equal('')
      expect(proxy.counts.GetSecretValue).to.equal(1)
    })

    it('a throttled batch is retried and still answers every secret', async () => {
      const result = await keyflow([once('BatchGetSecretValue', THROTTLING)], ['A', 'B', 'C', '--format', 'json'])
      expect(result.code).to.equal(0)
      const parsed = JSON.parse(result.stdout)
      expect(parsed.A === values.A && parsed.B === values.B && parsed.C === values.C).to.equal(true)
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 2})
      expect(result.stderr).to.match(/throttling requests/)
    })
  })

  describe('faults that persist: bounded by --aws-max-attempts, then exit 4 with a clear message', () => {
    const cases: Array<[string, FaultRule['fault'], string, RegExp]> = [
      ['throttling', THROTTLING, 'AWS_THROTTLED', /throttled the requests[\s\S]*still throttling after 2 attempt/],
      ['429', TOO_MANY_REQUESTS, 'AWS_THROTTLED', /throttled the requests/],
      ['HTTP 500', INTERNAL_ERROR, 'AWS_SERVER', /AWS Secrets Manager failed[\s\S]*HTTP 500[\s\S]*after 2 attempt/],
      ['HTTP 503', UNAVAILABLE, 'AWS_SERVER', /HTTP 503/],
      ['resets', {kind: 'reset'}, 'AWS_UNREACHABLE', /could not be reached[\s\S]*ECONNRESET/],
    ]
    for (const [what, fault, code, message] of cases) {
      it(what, async () => {
        const result = await keyflow([{fault}], ['ONE', '--aws-max-attempts', '2'])
        expect(result.code).to.equal(4)
        expect(result.stdout).to.equal('')
        expect(result.stderr).to.match(message)
        expect(result.stderr).to.contain('where: AWS Secrets Manager (us-east-1), secret "ONE"')
        expect(result.stderr).to.not.contain('not found')
        expect(result.stderr.match(/^Warning: /gm)).to.have.length(1)
        expect(proxy.counts.GetSecretValue).to.equal(2)
        const json = await keyflow([{fault}], ['ONE', '--aws-max-attempts', '2', '--json'])
        expect(json.code).to.equal(4)
        expect(JSON.parse(json.stderr.slice(json.stderr.indexOf('{'))).error.code).to.equal(code)
      })
    }

    it('settings from the environment bound it too (KEYFLOW_AWS_MAX_ATTEMPTS)', async () => {
      const result = await keyflow([{fault: THROTTLING}], ['ONE'], {...proxy.env, KEYFLOW_AWS_MAX_ATTEMPTS: '1'})
      expect(result.code).to.equal(4)
      expect(result.stderr).to.match(/^Error: AWS Secrets Manager throttled the requests\./)
      expect(proxy.counts.GetSecretValue).to.equal(1)
    })

    it('adaptive retry mode gives up the same way', async () => {
      const result = await keyflow([{fault: THROTTLING}], ['ONE', '--aws-retry-mode', 'adaptive', '--aws-max-attempts', '2'])
      expect(result.code).to.equal(4)
      expect(proxy.counts.GetSecretValue).to.equal(2)
    })

    it('the chain stops at the failure: later sources are not asked, earlier hits still win', async () => {
      const stopped = await keyflow([{fault: THROTTLING}], ['ONE', '--sources', 'aws,env', '--aws-max-attempts', '1'], {
        ...proxy.env,
        ONE: 'from-env',
      })
      expect(stopped.code).to.equal(4)
      const envFirst = await keyflow([{fault: THROTTLING}], ['ONE', '--sources', 'env,aws', '--no-newline'], {
        ...proxy.env,
        ONE: 'from-env',
      })
      expect(envFirst.stdout).to.equal('from-env')
      expect(proxy.counts).to.deep.equal({})
    })
  })

  describe('unreachable and stalled endpoints are source failures, never "not found"', () => {
    it('a closed port: exit 4', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`
      const result = await keyflow([], ['ONE', '--aws-max-attempts', '2'], {...proxy.env, AWS_ENDPOINT_URL: closed})
      expect(result.code).to.equal(4)
      expect(result.stderr).to.match(/could not be reached[\s\S]*ECONNREFUSED/)
      expect(result.stderr).to.contain('--aws-connect-timeout')
      expect(result.stderr).to.not.contain('not found')
    })

    it('a closed port, through the chain and with --explain: the failure is reported, not a miss', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`
      const result = await runCli(['secret', 'get', 'ONE', '--aws-max-attempts', '1', '--explain'], {
        cwd: dir.path,
        env: {...baseEnv(dir.path), ...proxy.env, AWS_ENDPOINT_URL: closed},
      })
      expect(result.code).to.equal(4)
      expect(result.stdout).to.match(/4\. aws +failure +AWS Secrets Manager could not be reached/)
    })

    it('a stall past --aws-request-timeout: exit 4', async () => {
      const result = await keyflow([{fault: {kind: 'stall'}}], ['ONE', '--aws-request-timeout', '400', '--aws-max-attempts', '2'])
      expect(result.code).to.equal(4)
      expect(result.stderr).to.match(/did not answer \(ETIMEDOUT\); retrying/)
      expect(result.stderr).to.match(/could not be reached[\s\S]*GetSecretValue: ETIMEDOUT: .*400 ms requestTimeout/)
      expect(proxy.counts.GetSecretValue).to.equal(2)
    })

    it('a stall that clears before the last attempt: the value', async () => {
      const result = await keyflow([once('GetSecretValue', {kind: 'stall'})], ['ONE', '--aws-request-timeout', '2000', '--no-newline'])
      expect(result.code).to.equal(0)
      expect(result.stdout === values.ONE).to.equal(true)
    })
  })

  describe('deadlines cover the whole call, body included, and the whole resolution', () => {
    const quick = ['--aws-request-timeout', '3000', '--aws-max-attempts', '1']
    const slowBodies: Array<[string, FaultRule['fault']]> = [
      ['headers, then a stall', {kind: 'headers-then-stall'}],
      ['a body dripped a byte a second', {intervalMs: 1000, kind: 'drip'}],
    ]
    for (const [what, fault] of slowBodies) {
      it(`${what}: GetSecretValue gives up at the request timeout, exit 4 naming the call and the secret`, async function () {
        this.timeout(60_000)
        const result = await keyflow([{fault, operation: 'GetSecretValue'}], ['ONE', ...quick])
        expect(result.code).to.equal(4)
        expect(result.stdout).to.equal('')
        expect(result.stderr).to.match(/^Error: AWS Secrets Manager could not be reached, or did not answer in time\./)
        expect(result.stderr).to.contain('where: AWS Secrets Manager (us-east-1), secret "ONE"')
        expect(result.stderr).to.match(/GetSecretValue: ETIMEDOUT: HTTP 200: the answer's body was not complete within the 3000 ms request timeout/)
        expect(proxy.counts.GetSecretValue).to.equal(1)
        const json = await keyflow([{fault, operation: 'GetSecretValue'}], ['ONE', ...quick, '--json'])
        expect(json.code).to.equal(4)
        expect(JSON.parse(json.stderr.slice(json.stderr.indexOf('{'))).error.code).to.equal('AWS_UNREACHABLE')
      })

      it(`${what}: BatchGetSecretValue fails every secret it asked for, and is retried like any timeout`, async function () {
        this.timeout(60_000)
        const result = await keyflow([once('BatchGetSecretValue', fault)], ['A', 'B', 'C', '--format', 'json', '--aws-request-timeout', '3000', '--aws-max-attempts', '2'])
        expect(result.code).to.equal(0)
        expect(result.stderr).to.match(/did not answer \(ETIMEDOUT\); retrying/)
        expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 2})
        const failed = await keyflow([{fault, operation: 'BatchGetSecretValue'}], ['A', 'B', 'C', '--format', 'json', ...quick])
        expect(failed.code).to.equal(4)
        expect(failed.stderr).to.contain('3 of 3 secrets could not be resolved.')
        expect(failed.stderr).to.match(/"B": AWS Secrets Manager could not be reached/)
        expect(failed.stderr).to.contain('BatchGetSecretValue: ETIMEDOUT')
      })
    }

    it('--aws-total-timeout bounds all AWS work of a resolution, retries and backoff included', async function () {
      this.timeout(60_000)
      const args = ['ONE', '--aws-request-timeout', '2000', '--aws-max-attempts', '5']
      const result = await keyflow([{fault: {kind: 'headers-then-stall'}}], [...args, '--aws-total-timeout', '3000'])
      expect(result.code).to.equal(4)
      expect(result.stderr).to.match(/^Error: AWS Secrets Manager did not finish within the total timeout\./m)
      expect(result.stderr).to.contain('where: AWS Secrets Manager (us-east-1), secret "ONE"')
      expect(result.stderr).to.contain('GetSecretValue: all AWS calls must finish within 3000 ms (--aws-total-timeout)')
      expect(proxy.counts.GetSecretValue).to.be.below(5)
      const json = await keyflow([{fault: {kind: 'stall'}}], [...args, '--json'], {...proxy.env, KEYFLOW_AWS_TOTAL_TIMEOUT_MS: '2500'})
      expect(json.code).to.equal(4)
      const {error} = JSON.parse(json.stderr.slice(json.stderr.indexOf('{')))
      expect(error.code).to.equal('AWS_DEADLINE')
      expect(error.details.join('\n')).to.contain('2500 ms')
    })
  })

  describe('an answer with no secret value is a failure, never an empty value', () => {
    const cases: Array<[string, (answer: Record<string, unknown>) => unknown]> = [
      ['a body of {}', () => ({})],
      ['ARN and Name but neither SecretString nor SecretBinary', withoutValue],
    ]
    for (const [what, body] of cases) {
      it(`GetSecretValue answering ${what}: exit 4`, async () => {
        const result = await keyflow([{fault: {body, kind: 'rewrite'}, operation: 'GetSecretValue'}], ['ONE', '--aws-max-attempts', '1'])
        expect(result.code).to.equal(4)
        expect(result.stdout).to.equal('')
        expect(result.stderr).to.match(/^Error: AWS Secrets Manager answered without a secret value\./)
        expect(result.stderr).to.contain('where: AWS Secrets Manager (us-east-1), secret "ONE"')
        expect(result.stderr).to.contain("GetSecretValue: the answer has neither SecretString nor SecretBinary")
      })
    }

    it('a BatchGetSecretValue entry with neither: that secret fails, the others resolve', async () => {
      const result = await keyflow([{fault: {body: withoutValueFor('B'), kind: 'rewrite'}, operation: 'BatchGetSecretValue'}], ['A', 'B', 'C', '--format', 'json', '--explain'])
      expect(result.code).to.equal(4)
      assertNoCanary(result.stdout, canaries, '--explain')
      expect(result.stdout).to.match(/^A\n {2}1\. aws +hit/m)
      expect(result.stdout).to.match(/^B\n {2}1\. aws +failure +AWS Secrets Manager answered without a secret value\./m)
      expect(result.stdout).to.match(/^C\n {2}1\. aws +hit/m)
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 1})
    })

    it('run does not start the command', async () => {
      proxy.reset([{fault: {body: () => ({}), kind: 'rewrite'}, operation: 'GetSecretValue'}])
      const marker = join(dir.path, 'started')
      const result = await runCli(['run', '--secret', 'ONE', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], {
        cwd: dir.path,
        env: {...baseEnv(dir.path), ...proxy.env, KEYFLOW_SOURCES: 'aws'},
      })
      expect(result.code).to.equal(4)
      expect(result.stderr).to.contain('answered without a secret value')
      expect(existsSync(marker)).to.equal(false)
    })
  })

  describe('a partial BatchGetSecretValue failure is handled per secret', () => {
    it('one id denied inside the batch: the others resolve, that one fails with exit 4', async () => {
      const result = await keyflow(
        [once('BatchGetSecretValue', {errorCode: 'AccessDeniedException', ids: ['B'], kind: 'batch-errors'})],
        ['A', 'B', 'C', '--format', 'json', '--explain'],
      )
      expect(result.code).to.equal(4)
      assertNoCanary(result.stdout, canaries, '--explain')
      expect(result.stdout).to.match(/^A\n {2}1\. aws +hit/m)
      expect(result.stdout).to.match(/^B\n {2}1\. aws +failure +AWS denied access\./m)
      expect(result.stdout).to.match(/^C\n {2}1\. aws +hit/m)
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 1})
      const plain = await keyflow(
        [once('BatchGetSecretValue', {errorCode: 'AccessDeniedException', ids: ['B'], kind: 'batch-errors'})],
        ['A', 'B', 'C', '--format', 'json'],
      )
      expect(plain.code).to.equal(4)
      expect(plain.stdout).to.equal('')
      expect(plain.stderr).to.match(/^Error: AWS denied access\.\n {2}where: AWS Secrets Manager \(us-east-1\), secret "B"/)
    })

    it('one id not found inside the batch: a miss for that one (exit 3), hits for the rest', async () => {
      const result = await keyflow(
        [once('BatchGetSecretValue', {errorCode: 'ResourceNotFoundException', ids: ['C'], kind: 'batch-errors'})],
        ['A', 'B', 'C', '--format', 'json'],
      )
      expect(result.code).to.equal(3)
      expect(result.stderr).to.contain('Secret "C" was not found in any source.')
    })

    it('one id failing to decrypt and one missing: exit 4 outranks 3, both listed', async () => {
      const result = await keyflow(
        [once('BatchGetSecretValue', {errorCode: 'DecryptionFailure', ids: ['A'], kind: 'batch-errors'})],
        ['A', 'B', 'MISSING', '--format', 'json'],
      )
      expect(result.code).to.equal(4)
      expect(result.stderr).to.contain('2 of 3 secrets could not be resolved.')
      expect(result.stderr).to.contain('"A": AWS denied access.')
      expect(result.stderr).to.contain('"MISSING": Secret "MISSING" was not found in any source.')
    })

    it('the same secret asked several ways is fetched once; pinned versions go by GetSecretValue', async () => {
      const result = await keyflow([], ['A', 'D=aws-sm://A', 'X=A', 'B', 'CUR=aws-sm://C?stage=AWSCURRENT', '--format', 'json'])
      expect(result.code).to.equal(0)
      const parsed = JSON.parse(result.stdout)
      expect(parsed.A === values.A && parsed.D === values.A && parsed.X === values.A && parsed.B === values.B && parsed.CUR === values.C).to.equal(true)
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 1, GetSecretValue: 1})
    })

    it('45 names go in three batches of at most 20; one batch throttled past retries fails only its names', async () => {
      const sm = await motoClient(moto)
      const names = Array.from({length: 45}, (_, index) => `bulk-${String(index).padStart(2, '0')}`)
      await sm.createMany(names.map((name) => [name, `value-of-${name}`]))
      const all = await keyflow([], [...names, '--format', 'json'])
      expect(all.code).to.equal(0)
      expect(Object.keys(JSON.parse(all.stdout))).to.have.length(45)
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 3})
      const lastBatch: FaultRule = {fault: THROTTLING, match: '"bulk-44"', operation: 'BatchGetSecretValue'}
      const oneBatchDown = await keyflow([lastBatch], [...names, '--format', 'json', '--aws-max-attempts', '2'])
      expect(oneBatchDown.code).to.equal(4)
      const failed = oneBatchDown.stderr.match(/(?<=^ {2}")bulk-\d+(?=": AWS Secrets Manager throttled the requests\.)/gm)
      expect(failed).to.deep.equal(['bulk-40', 'bulk-41', 'bulk-42', 'bulk-43', 'bulk-44'])
      expect(oneBatchDown.stderr).to.contain('5 of 45 secrets could not be resolved.')
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 4})
    })

    it('the whole batch denied: keyflow falls back to GetSecretValue per secret', async () => {
      const result = await keyflow([{fault: ACCESS_DENIED, operation: 'BatchGetSecretValue'}], ['A', 'B', 'C', '--format', 'json'])
      expect(result.code).to.equal(0)
      const parsed = JSON.parse(result.stdout)
      expect(parsed.A === values.A && parsed.B === values.B && parsed.C === values.C).to.equal(true)
      expect(proxy.counts).to.deep.equal({BatchGetSecretValue: 1, GetSecretValue: 3})
    })
  })
})
