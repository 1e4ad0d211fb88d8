import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {baseEnv, runCli, tempDir} from '../support/cli.js'

/** The terminal column where `text` starts in `line`, counting CJK characters as two columns. */
function column(line: string, text: string): number {
  // eslint-disable-next-line unicorn/prefer-spread -- code points, not a copy of an array
  return Array.from(line.slice(0, line.indexOf(text))).reduce((width, char) => width + (/[\u3000-\u9FFF]/.test(char) ? 2 : 1), 0)
}

/** Block tables for people: relative times, references shown as references, columns aligned by display width. */
describe('first hour: block tables', () => {
  let dir: ReturnType<typeof tempDir>
  let env: Record<string, string>
  const kf = async (args: string[]) => {
    const result = await runCli(args, {cwd: dir.path, env})
    expect(result.code, result.stderr).to.equal(0)
    return result.stdout
  }

  before(async () => {
    dir = tempDir()
    env = baseEnv(join(dir.path, 'home'))
    await kf(['block', 'create', 'snowflake-credentials', 'prod', '--field', 'account=acct', '--field', 'user=etl', '--field', 'password=aws-sm://my-snowflake-pw'])
    await kf(['block', 'create', 'snowflake-connector', 'prod', '--field', 'credentials=prod', '--field', 'database=D', '--field', 'schema=S', '--field', 'warehouse=W'])
  })

  after(() => dir.cleanup())

  it('block ls: when each was updated, relative ("just now"); --json keeps ISO 8601', async () => {
    const text = await kf(['block', 'ls'])
    expect(text).to.match(/^snowflake-connector\/prod\s+snowflake-connector\s+just now\s+snowflake-credentials\/prod$/m)
    expect(text).not.to.match(/\d{4}-\d\d-\d\dT/)
    const {blocks} = JSON.parse(await kf(['block', 'ls', '--json']))
    expect(blocks[0].updated).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('block inspect: a reference as the reference, a nested document as its address, the time relative and exact', async () => {
    const credentials = await kf(['block', 'inspect', 'snowflake-credentials/prod'])
    expect(credentials).to.match(/^password\s+aws-sm:\/\/my-snowflake-pw \(reference\)$/m)
    expect(credentials).to.match(/^Updated: just now \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/m)
    expect(credentials).not.to.include('$ref')
    const connector = await kf(['block', 'inspect', 'snowflake-connector/prod'])
    expect(connector).to.match(/^credentials\s+snowflake-credentials\/prod \(block\)$/m)
    const json = JSON.parse(await kf(['block', 'inspect', 'snowflake-credentials/prod', '--json']))
    expect(json.data.password).to.deep.equal({$ref: 'aws-sm://my-snowflake-pw'})
  })

  it('block type ls: a name with wide characters keeps the next column aligned', async () => {
    const file = join(dir.path, 'wide.mjs')
    writeFileSync(file, "export const wide = {fields: {properties: {url: {type: 'string'}}, type: 'object'}, name: '東京 API', slug: 'tokyo-api', version: '1'}\n")
    await kf(['block', 'register', '-f', file])
    const lines = (await kf(['block', 'type', 'ls'])).split('\n')
    const header = lines[0]
    const row = lines.find((line) => line.startsWith('tokyo-api'))!
    // 東京 takes four terminal columns: SOURCE starts at the same column in the header and the row.
    expect(column(row, 'registered')).to.equal(column(header, 'SOURCE'))
  })
})
