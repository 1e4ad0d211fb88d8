import {expect} from 'chai'
import {after, afterEach, before, describe, it} from 'mocha'
import {spawn} from 'node:child_process'
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'

import {DEFERRED_DRIVER_PACKAGES} from '../../src/lib/snowflake/driver.js'
import {assertNoCanary, assertNoCanaryInTree} from '../support/canary.js'
import {baseEnv, BIN, CliResult, runCli, tempDir} from '../support/cli.js'
import {createConnectorBlock, Fixture, passwordConfig, startFixture} from '../support/snowflake-fixture.js'

describe('keyflow sql through the built CLI', () => {
  let fixture: Fixture
  let home: ReturnType<typeof tempDir>
  let connection: string

  async function sql(args: string[], input?: string): Promise<CliResult> {
    const result = await runCli(['sql', '--block', connection, ...args], {cwd: home.path, env: baseEnv(home.path), input})
    assertNoCanary(result.stdout, fixture.canaries, 'stdout')
    assertNoCanary(result.stderr, fixture.canaries, 'stderr')
    return result
  }

  before(async () => {
    fixture = await startFixture({chunkRows: 50})
    home = tempDir()
    connection = await createConnectorBlock(home.path, 'test', passwordConfig(fixture))
  })

  afterEach(() => {
    // No file holds the password in clear text (the block store encrypts it); the driver writes no log into cwd or HOME.
    assertNoCanaryInTree(home.path, fixture.canaries)
    expect(readdirSync(home.path).filter((name) => name.endsWith('.log'))).to.deep.equal([])
  })

  after(async () => {
    await fixture.server.stop()
    home.cleanup()
  })

  it('prints a table for people', async () => {
    const result = await sql(["SELECT range AS id, 'n' || range AS name FROM range(3)"])
    expect(result.code).to.equal(0)
    expect(result.stdout).to.equal(['id | name', '---+-----', '0  | n0', '1  | n1', '2  | n2', '(3 rows)', ''].join('\n'))
  })

  it('aligns table columns by display width: wide characters take two columns', async () => {
    const result = await sql(["SELECT * FROM (SELECT '東京' AS city, 1 AS n UNION ALL SELECT 'Paris', 2) ORDER BY n"])
    expect(result.code).to.equal(0)
    expect(result.stdout).to.equal(['city  | n', '------+--', '東京  | 1', 'Paris | 2', '(2 rows)', ''].join('\n'))
  })

  it('sizes table columns from the first 100 rows and streams the rest at those widths', async () => {
    const result = await sql(["SELECT range AS n, CASE WHEN range < 100 THEN 'ab' ELSE 'longer value' END AS v FROM range(150)"])
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).to.have.length(153)
    expect(lines[0]).to.equal('n  | v')
    expect(lines[2]).to.equal('0  | ab')
    // Later, wider values overflow their column rather than hold the output back.
    expect(lines[102]).to.equal('100 | longer value')
    expect(lines.at(-1)).to.equal('(150 rows)')
  })

  it('streams --format json, ndjson and csv', async () => {
    const query = "SELECT range AS id, 'a,\"b' AS text, NULL AS nothing, DATE '2024-01-31' AS day FROM range(2)"
    const json = await sql(['--format', 'json', query])
    expect(json.code).to.equal(0)
    expect(JSON.parse(json.stdout)).to.deep.equal([
      {day: '2024-01-31', id: 0, nothing: null, text: 'a,"b'},
      {day: '2024-01-31', id: 1, nothing: null, text: 'a,"b'},
    ])
    const ndjson = await sql(['--format', 'ndjson', query])
    expect(ndjson.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))).to.deep.equal(JSON.parse(json.stdout))
    const csv = await sql(['--format', 'csv', query])
    expect(csv.stdout).to.equal('id,text,nothing,day\r\n0,"a,""b",,2024-01-31\r\n1,"a,""b",,2024-01-31\r\n')
  })


  it('writes each JSON row as the text of a {column: value} object: its key order, nested values, binary as hex', async () => {
    // An object puts integer-like keys first, and a repeated name where it first appears, with its last value.
    const query = String.raw`SELECT 'x' AS b, 2 AS "1", 3 AS b, NULL AS n, [1, 2] AS l, {'k': 'v'} AS s, '\x00\xff'::BLOB AS bin`
    const row = '{"1":2,"b":3,"n":null,"l":[1,2],"s":{"k":"v"},"bin":"00FF"}'
    expect((await sql(['--format', 'ndjson', query])).stdout).to.equal(row + '\n')
    expect((await sql(['--format', 'json', query])).stdout).to.equal(`[\n${row}\n]\n`)
  })

  it('writes each CSV cell as text: numbers and booleans as printed, quotes, commas and line breaks quoted, variants as JSON, binary as hex', async () => {
    const query = String.raw`SELECT true AS yes, false AS no, -1.5 AS neg, 0.1 AS tenth, '' AS empty, NULL AS nothing, 'line` + '\n' + String.raw`break' AS nl, 'say "hi"' AS quoted, [1, 2] AS l, {'k': 'v,w'} AS s, '\x00\xff'::BLOB AS bin, TIMESTAMP '2024-01-31 12:34:56' AS ts`
    const header = 'yes,no,neg,tenth,empty,nothing,nl,quoted,l,s,bin,ts\r\n'
    const row = 'true,false,-1.5,0.1,,,"line\nbreak","say ""hi""","[1,2]","{""k"":""v,w""}",00FF,2024-01-31 12:34:56.000\r\n'
    expect((await sql(['--format', 'csv', query])).stdout).to.equal(header + row)
  })

  it('writes an empty JSON array for no rows, and streams a result of many chunks', async () => {
    expect(JSON.parse((await sql(['-f', 'json', 'SELECT 1 AS x WHERE false'])).stdout)).to.deep.equal([])
    const many = await sql(['-f', 'ndjson', 'SELECT range AS n FROM range(5000)'])
    const lines = many.stdout.trimEnd().split('\n')
    expect(lines).to.have.length(5000)
    expect(JSON.parse(lines[4999])).to.deep.equal({n: 4999})
  })

  it("loads none of the driver's SDKs for features a query does not use (driver.ts DEFERRED_DRIVER_PACKAGES)", async () => {
    const fromDriver = createRequire(createRequire(import.meta.url).resolve('snowflake-sdk'))
    const result = await runCli(['sql', '--block', connection, '-f', 'csv', 'SELECT range AS n FROM range(200)'], {cwd: home.path, env: {...baseEnv(home.path), NODE_DEBUG: 'module'}})
    expect(result.code, result.stderr.slice(-2000)).to.equal(0)
    expect(result.stdout.trimEnd().split('\n')).to.have.length(201)
    // NODE_DEBUG=module names each file as the module system loads it, the sql thread's too.
    const loaded = new Set([...result.stderr.matchAll(/: load "([^"]+)" for module/g)].map((match) => match[1]))
    expect(loaded, 'the driver itself').to.include(fromDriver.resolve('snowflake-sdk'))
    for (const name of DEFERRED_DRIVER_PACKAGES) expect(loaded, name).not.to.include(fromDriver.resolve(name))
  })

  it('asks for the result at once, no status polls: the server answers that request when the statement is done', async () => {
    const {queries, statusChecks} = fixture.server.stats
    const result = await sql(['-f', 'csv', 'SELECT range AS n FROM range(3)'])
    expect(result.stdout).to.equal('n\r\n0\r\n1\r\n2\r\n')
    expect(fixture.server.stats.queries).to.equal(queries + 1)
    expect(fixture.server.stats.statusChecks).to.equal(statusChecks)
  })

  it('asks again while the server answers that the statement is still running (333333)', async () => {
    const slow = await startFixture({chunkRows: 50, forceAsync: true})
    try {
      const block = await createConnectorBlock(home.path, 'slow', passwordConfig(slow))
      const result = await runCli(['sql', '--block', block, '-f', 'ndjson', 'SELECT range AS n FROM range(120)'], {cwd: home.path, env: baseEnv(home.path)})
      expect(result.code, result.stderr).to.equal(0)
      expect(result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line).n)).to.deep.equal([...Array.from({length: 120}).keys()])
      expect(slow.server.stats.polls).to.be.greaterThan(1)
      expect(slow.server.stats.statusChecks).to.equal(0)
    } finally {
      await slow.server.stop()
    }
  })

  it('stops at a reader that goes away (`| head`): exit 0, the session logged out, the rest of the result left unread', async () => {
    const {chunks, sessionsDeleted} = fixture.server.stats
    const child = spawn(process.execPath, ['--', BIN, 'sql', '--block', connection, '-f', 'ndjson', 'SELECT range AS n FROM range(100000)'], {cwd: home.path, env: baseEnv(home.path) as NodeJS.ProcessEnv})
    child.stdout.once('data', () => child.stdout.destroy())
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise((resolve) => {
      child.on('close', resolve)
    })
    expect(code, stderr).to.equal(0)
    expect(stderr).to.equal('')
    expect(fixture.server.stats.sessionsDeleted).to.equal(sessionsDeleted + 1)
    // 2,000 chunks of 50 rows: the driver's prefetch and the pipes hold a few of them.
    expect(fixture.server.stats.chunks - chunks).to.be.below(1000)
  })

  it('binds text with --bind and typed values with --binds-json', async () => {
    // The SQL may follow --bind: each --bind takes exactly one value.
    const text = await sql(['-f', 'ndjson', '--bind', 'x', '--bind', "it's", 'SELECT ? AS a, :2 AS b'])
    expect(JSON.parse(text.stdout)).to.deep.equal({a: 'x', b: "it's"})
    const typed = await sql(['-f', 'ndjson', 'SELECT ? + 1 AS n, ? AS flag, ? AS nothing', '--binds-json', '[41, true, null]'])
    expect(JSON.parse(typed.stdout)).to.deep.equal({flag: true, n: 42, nothing: null})
  })

  it('takes pyformat %(name)s placeholders with --bind name=value and --binds-json objects, as binds; %% is a literal %', async () => {
    // A value that would break the SQL if it were interpolated: it is a bind, so it is only text.
    const text = await sql(['-f', 'ndjson', '--bind', "who=it's", '--bind', 'n=5', "SELECT %(who)s AS a, %(who)s || '%%' AS b, %(n)s AS c"])
    expect(text.code, text.stderr).to.equal(0)
    expect(JSON.parse(text.stdout)).to.deep.equal({a: "it's", b: "it's%", c: '5'})
    const typed = await sql(['-f', 'ndjson', 'SELECT %(n)s + 1 AS n, %(flag)s AS flag', '--binds-json', '{"flag": true, "n": 41}'])
    expect(JSON.parse(typed.stdout)).to.deep.equal({flag: true, n: 42})
    const missing = await sql(['SELECT %(n)s AS n, %(absent)s AS m', '--binds-json', '{"n": 1}'])
    expect(missing.code).to.equal(2)
    expect(missing.stderr).to.include('No parameter for placeholder %(absent)s')
    const stray = await sql(["SELECT %(n)s AS n, 'a%b' AS m", '--bind', 'n=1'])
    expect(stray.code).to.equal(2)
    expect(stray.stderr).to.include('neither %(name)s nor %%')
  })

  it('reads the SQL from --file and from stdin', async () => {
    const file = join(home.path, 'query.sql')
    writeFileSync(file, 'SELECT 7 AS seven;\n')
    expect((await sql(['-f', 'csv', '--file', file])).stdout).to.equal('seven\r\n7\r\n')
    expect((await sql(['-f', 'csv'], 'SELECT 8 AS eight')).stdout).to.equal('eight\r\n8\r\n')
  })

  it('batch-inserts rows from NDJSON and from a JSON array, reporting rows affected', async () => {
    await sql(['CREATE TABLE customers (name varchar, address varchar)'])
    const ndjson = join(home.path, 'rows.ndjson')
    writeFileSync(ndjson, '["Ford", "Highway 42"]\n["Unknown", "Space"]\n\n')
    const array = join(home.path, 'rows.json')
    writeFileSync(array, JSON.stringify([['Me', 'Myway 88']]))
    const insert = 'INSERT INTO customers (name, address) VALUES (?, ?)'
    const first = await sql(['--rows', ndjson, insert])
    expect(first.code).to.equal(0)
    expect(first.stdout).to.equal('2 rows affected.\n')
    const second = await sql(['--json', '--rows', array, insert])
    expect(JSON.parse(second.stdout)).to.deep.equal({batches: 1, rows: 1, rowsAffected: 1})
    expect((await sql(['-f', 'csv', 'SELECT count(*) AS n FROM customers'])).stdout).to.equal('n\r\n3\r\n')
    // The seed's pyformat INSERT, rows as objects (NDJSON and a JSON array).
    const named = 'INSERT INTO customers (name, address) VALUES (%(name)s, %(address)s)'
    const objects = join(home.path, 'objects.ndjson')
    writeFileSync(objects, '{"name": "Zaphod", "address": "Heart of Gold"}\n')
    expect((await sql(['--rows', objects, named])).stdout).to.equal('1 row affected.\n')
    const objectArray = join(home.path, 'objects.json')
    writeFileSync(objectArray, JSON.stringify([{address: 'Earth', name: 'Trillian'}]))
    expect((await sql(['--rows', objectArray, named])).code).to.equal(0)
    expect((await sql(['-f', 'csv', "SELECT address FROM customers WHERE name IN ('Zaphod', 'Trillian') ORDER BY name"])).stdout).to.equal('address\r\nEarth\r\nHeart of Gold\r\n')
  })

  it('rejects a malformed rows file without quoting it', async () => {
    const bad = join(home.path, 'bad.ndjson')
    writeFileSync(bad, '["ok"]\n{not json: secret-looking}\n')
    const result = await sql(['--rows', bad, 'INSERT INTO customers (name) VALUES (?)'])
    expect(result.code).to.equal(5)
    expect(result.stderr).to.include('Line 2 is not valid JSON')
    expect(result.stderr).not.to.include('secret-looking')
  })

  it('reports a SQL error with code and SQL state, exit 9', async () => {
    const result = await sql(['SELECT * FROM no_such_table'])
    expect(result.code).to.equal(9)
    expect(result.stdout).to.equal('')
    expect(result.stderr).to.include('Snowflake rejected the SQL').and.include('002003').and.include('42S02')
    const json = await sql(['--json', 'SELECT * FROM no_such_table'])
    expect(JSON.parse(json.stderr).error.code).to.equal('SNOWFLAKE_SQL')
  })

  it('reports bad credentials (390100) without the password', async () => {
    const config = passwordConfig(fixture)
    const wrong = await createConnectorBlock(home.path, 'wrong', {...config, credentials: {...config.credentials, password: `${fixture.password}x`}})
    const result = await runCli(['sql', '--block', wrong, 'SELECT 1'], {cwd: home.path, env: baseEnv(home.path)})
    expect(result.code).to.equal(9)
    expect(result.stderr).to.include('Snowflake refused the login').and.include('390100')
    assertNoCanary(result.stderr + result.stdout, fixture.canaries, 'the output of a refused login')
  })

  it('refuses a block of another type, and a connector block that does not exist', async () => {
    const created = await runCli(['block', 'create', 'secret', 'not-a-connector', '--stdin-field', 'value'], {env: baseEnv(home.path), input: 'irrelevant-value'})
    expect(created.code, created.stderr).to.equal(0)
    const wrongType = await runCli(['sql', '--block', 'secret/not-a-connector', 'SELECT 1'], {cwd: home.path, env: baseEnv(home.path)})
    expect(wrongType.code).to.equal(2)
    expect(wrongType.stderr).to.include('not a snowflake-connector')
    const missing = await runCli(['sql', '--block', 'snowflake-connector/nope', 'SELECT 1'], {cwd: home.path, env: baseEnv(home.path)})
    expect(missing.code).to.equal(3)
    expect(existsSync(join(home.path, 'snowflake.log'))).to.equal(false)
  })
})
