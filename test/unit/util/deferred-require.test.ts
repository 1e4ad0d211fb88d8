import {expect} from 'chai'
import {after, before, describe, it} from 'mocha'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {inspect, types} from 'node:util'

import {deferRequire} from '../../../src/lib/util/deferred-require.js'

/** How many times each fixture package's code has run, by name (the packages count themselves here). */
function runs(): Record<string, number> {
  const global = globalThis as {deferredRuns?: Record<string, number>}
  global.deferredRuns ??= {}
  return global.deferredRuns
}

describe('deferRequire', () => {
  let root: string
  let requirer: string
  let requireFromRoot: NodeJS.Require

  /** A package in root/node_modules whose index.js counts its runs, then runs `body`. */
  function fixturePackage(name: string, body: string): void {
    const dir = join(root, 'node_modules', name)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'package.json'), JSON.stringify({main: 'index.js', name}))
    writeFileSync(join(dir, 'index.js'), `const runs = (globalThis.deferredRuns ??= {}); runs[${JSON.stringify(name)}] = (runs[${JSON.stringify(name)}] ?? 0) + 1\n${body}\n`)
  }

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'keyflow-deferred-'))
    requirer = join(root, 'requirer.js')
    writeFileSync(requirer, '')
    requireFromRoot = createRequire(requirer)
    const exportsOfAModule = [
      // What TypeScript's CommonJS output starts with: a property that cannot be configured.
      "Object.defineProperty(exports, '__esModule', {value: true})",
      'exports.answer = 42',
      'exports.Thing = class Thing {}',
      "Object.defineProperty(exports, 'self', {enumerable: true, get() { return this === module.exports }})",
    ].join('\n')
    fixturePackage('deferred-plain', exportsOfAModule)
    fixturePackage('deferred-reads', exportsOfAModule)
    fixturePackage('deferred-loaded', exportsOfAModule)
    fixturePackage('deferred-failing', "if (!globalThis.deferredMayLoad) throw new Error('cannot load yet')\nexports.ok = true")
  })

  after(() => {
    rmSync(root, {force: true, recursive: true})
  })

  it('runs none of a package until a property is read, then runs it once and hands on the real exports', () => {
    deferRequire(requirer, ['deferred-plain'])
    const standIn = requireFromRoot('deferred-plain') as {answer: number}
    expect(runs()['deferred-plain'], 'required, not yet used').to.equal(undefined)
    expect(types.isProxy(standIn)).to.equal(true)

    expect(standIn.answer).to.equal(42)
    expect(runs()['deferred-plain']).to.equal(1)
    const real = requireFromRoot('deferred-plain') as {answer: number}
    expect(types.isProxy(real), 'a require() after the first use gets the real module').to.equal(false)
    expect(real.answer).to.equal(42)
    expect(standIn.answer).to.equal(42)
    expect(runs()['deferred-plain']).to.equal(1)
  })

  it('forwards every kind of read and write to the real exports', () => {
    deferRequire(requirer, ['deferred-reads'])
    const standIn = requireFromRoot('deferred-reads') as {[key: string]: unknown; answer: number; self: boolean; Thing: new () => object}
    // What TypeScript's __importStar and __importDefault do with a module.
    expect(standIn.__esModule).to.equal(true)
    expect(Object.getOwnPropertyDescriptor(standIn, '__esModule')).to.include({configurable: false, value: true})
    expect(Object.keys(standIn)).to.deep.equal(['answer', 'Thing', 'self'])
    expect('answer' in standIn).to.equal(true)
    expect('missing' in standIn).to.equal(false)
    expect({...standIn}).to.deep.equal({answer: 42, self: true, Thing: standIn.Thing})
    expect(standIn.self, "a getter's this is the real exports").to.equal(true)

    const real = requireFromRoot('deferred-reads') as typeof standIn
    expect(new standIn.Thing()).to.be.instanceOf(real.Thing)
    standIn.added = 'x'
    expect(real.added).to.equal('x')
    delete standIn.added
    expect('added' in real).to.equal(false)
    expect(Object.getPrototypeOf(standIn)).to.equal(Object.getPrototypeOf(real))
    expect(runs()['deferred-reads']).to.equal(1)
  })

  it('leaves a package that is already loaded as it is', () => {
    const real = requireFromRoot('deferred-loaded')
    deferRequire(requirer, ['deferred-loaded'])
    expect(requireFromRoot('deferred-loaded')).to.equal(real)
    expect(runs()['deferred-loaded']).to.equal(1)
  })

  it('fails at the first use of a package that cannot load, and tries again at the next', () => {
    deferRequire(requirer, ['deferred-failing'])
    const standIn = requireFromRoot('deferred-failing') as {ok: boolean}
    expect(() => standIn.ok).to.throw('cannot load yet')
    ;(globalThis as {deferredMayLoad?: boolean}).deferredMayLoad = true
    expect(standIn.ok).to.equal(true)
    expect(runs()['deferred-failing']).to.equal(2)
  })

  // Review of ac18d47: "forwards every kind of read and write" holds for get, set, delete and
  // defineProperty of a configurable property only. A Proxy must not report a non-configurable
  // property, or a non-extensible object, that its target does not have; the stand-in's target
  // is an empty object, so these writes reach the real exports and then throw (or stop at the target).
  it('defines a non-configurable property on the real exports through the stand-in, as on the real module', () => {
    fixturePackage('deferred-pinned', 'exports.answer = 42')
    deferRequire(requirer, ['deferred-pinned'])
    const standIn = requireFromRoot('deferred-pinned') as {answer: number; pinned?: number}
    expect(() => Object.defineProperty(standIn, 'pinned', {configurable: false, enumerable: true, value: 1, writable: false})).not.to.throw()
    expect(standIn.pinned).to.equal(1)
  })

  it('freezes the real exports through the stand-in, as Object.freeze does the real module', () => {
    fixturePackage('deferred-frozen', 'exports.answer = 42')
    deferRequire(requirer, ['deferred-frozen'])
    const standIn = requireFromRoot('deferred-frozen') as {answer: number}
    expect(() => Object.freeze(standIn)).not.to.throw()
    expect(Object.isFrozen(requireFromRoot('deferred-frozen'))).to.equal(true)
  })

  it('closes the real exports to new properties through the stand-in (Object.preventExtensions), which stays usable', () => {
    fixturePackage('deferred-closed', 'exports.answer = 42')
    deferRequire(requirer, ['deferred-closed'])
    const standIn = requireFromRoot('deferred-closed') as {answer: number}
    expect(standIn.answer).to.equal(42)
    Object.preventExtensions(standIn)
    expect(Object.isExtensible(requireFromRoot('deferred-closed')), 'the real exports').to.equal(false)
    expect(() => Object.keys(standIn)).not.to.throw()
  })

  it('shows the real exports to util.inspect (console.log), not an empty object', () => {
    fixturePackage('deferred-shown', 'exports.answer = 42')
    deferRequire(requirer, ['deferred-shown'])
    const standIn = requireFromRoot('deferred-shown')
    expect(standIn).to.have.property('answer', 42)
    expect(inspect(standIn)).to.equal(inspect(requireFromRoot('deferred-shown')))
  })

  // Review of ac18d47: loadSnowflake defers DEFERRED_DRIVER_PACKAGES, a list of snowflake-sdk
  // 3.3.0's dependencies, for any snowflake-sdk in the peer range (^3.3.0). A name that does not
  // resolve from the driver makes deferRequire throw (MODULE_NOT_FOUND), so loadSnowflake fails
  // before the driver is imported, and `keyflow sql` ends as INTERNAL (exit 1, "This is a bug"),
  // even where the driver itself would load: one that no longer depends on the package.
  it('leaves a package that is not installed to whoever requires it: no stand-in, no error', () => {
    expect(() => deferRequire(requirer, ['deferred-absent'])).not.to.throw()
    expect(() => requireFromRoot('deferred-absent')).to.throw().with.property('code', 'MODULE_NOT_FOUND')
  })
})
