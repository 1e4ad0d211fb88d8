/**
 * Root hooks. The integration tests run the built CLI; `npm test` builds first, so nothing
 * here rebuilds. Tests never read the developer's own AWS or keyflow configuration: each run
 * gets a private HOME (see test/support/cli.ts baseEnv).
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from './support/cli.js'

export const mochaHooks = {
  beforeAll() {
    if (!existsSync(join(ROOT, 'dist', 'fast-path-get.cjs')) || !existsSync(join(ROOT, 'oclif.manifest.json'))) {
      throw new Error('dist/ or oclif.manifest.json is missing: run `npm run build` (npm test does it).')
    }
  },
}
