import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from '../../support/cli.js'

describe('cli: the order oclif lists commands in', () => {
  it("is the same by code units as by localeCompare, so the code-unit sorts (scripts/bundle.mjs's of oclif's commands, help.ts's) change nothing", () => {
    const {commands} = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    const ids = Object.keys(commands)
    expect(ids.length).to.be.greaterThan(10)
    const byLocale = [...ids].sort((a, b) => a.localeCompare(b))
    const byCodeUnits = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    expect(byCodeUnits).to.deep.equal(byLocale)
  })
})
