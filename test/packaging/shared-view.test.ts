import {expect} from 'chai'
import {describe, it} from 'mocha'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {checkLazyPart, sharedReads} from '../../scripts/lazy-parts.mjs'
import {ROOT} from '../support/cli.js'

const bundleText = (name: string) => readFileSync(join(ROOT, 'dist', `${name}.cjs`), 'utf8')

/** The shared view of a built fast bundle, as bin/run.js gives it to the lazy part: module id -> names. */
const builtView = (fast: string): Map<string, string[]> => {
  const script = `const modules = require(${JSON.stringify(join(ROOT, 'dist', `${fast}.cjs`))}).__keyflowShared(); process.stdout.write(JSON.stringify(Object.entries(modules).map(([id, members]) => [id, Object.keys(members)])))`
  const result = spawnSync(process.execPath, ['-e', script], {encoding: 'utf8', env: {PATH: process.env.PATH}})
  expect(result.status, result.stderr).to.equal(0)
  return new Map(JSON.parse(result.stdout) as Array<[string, string[]]>)
}

const lazyPart = (fast: string) => ({part: `dist/${fast}-lazy.cjs`, prefix: 'keyflow-shared:', text: bundleText(`${fast}-lazy`)})

/**
 * A lazy part reads the modules its fast bundle holds through the bundle's shared view
 * (scripts/bundle.mjs: sharedNames, sharedView); a name the lazy part reads that the view does
 * not give would be undefined, found only at run time on that path. The build checks every
 * lazy part against its view (scripts/lazy-parts.mjs), here against the views as the built
 * bundles give them.
 */
describe('packaging: the build checks what each lazy part reads against its shared view', () => {
  for (const fast of ['fast-path-get', 'fast-path-run']) {
    it(`${fast}-lazy.cjs reads nothing of the shared modules that ${fast}.cjs's view does not give`, () => {
      const view = builtView(fast)
      expect(() => checkLazyPart({...lazyPart(fast), view})).not.to.throw()
      // What the check reads off the lazy part is what it uses: the bundle's own error class, among others.
      expect(sharedReads(lazyPart(fast).text, 'keyflow-shared:').get('lib/errors.js')).to.include('KeyflowError')
    })
  }

  it('a view without a name the lazy part reads fails the check, which names the part, the module and the name', () => {
    const view = builtView('fast-path-run')
    view.set('lib/errors.js', view.get('lib/errors.js')!.filter((name) => name !== 'KeyflowError'))
    expect(() => checkLazyPart({...lazyPart('fast-path-run'), view})).to.throw(/dist\/fast-path-run-lazy\.cjs reads KeyflowError of lib\/errors\.js, which the shared view does not give/)
  })

  it('a view without a module the lazy part reads fails the check', () => {
    const view = builtView('fast-path-get')
    view.delete('lib/util/json.js')
    expect(() => checkLazyPart({...lazyPart('fast-path-get'), view})).to.throw(/dist\/fast-path-get-lazy\.cjs reads isPlainObject of lib\/util\/json\.js, which the shared view does not give/)
  })

  it('a shared module required in a form the check cannot read fails it, rather than passing unread', () => {
    const text = `${bundleText('fast-path-run-lazy')};console.log(require("keyflow-shared:lib/errors.js"))`
    expect(() => checkLazyPart({part: 'dist/x-lazy.cjs', prefix: 'keyflow-shared:', text, view: builtView('fast-path-run')})).to.throw(/cannot tell what dist\/x-lazy\.cjs reads of lib\/errors\.js/)
  })
})
