/**
 * Preloaded with --import (NODE_OPTIONS) into a keyflow process, it appends the URL of every
 * module keyflow resolves to the file named by KEYFLOW_TEST_MODULE_TRACE: a test can then see
 * which modules a command loaded, without touching keyflow's own code.
 */
// eslint-disable-next-line n/no-unsupported-features/node-builtins -- in Node 20.6+ (a release candidate there); a test aid only
import {register} from 'node:module'

register(
  `data:text/javascript,${encodeURIComponent(`
import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  appendFileSync(process.env.KEYFLOW_TEST_MODULE_TRACE, resolved.url + '\\n')
  return resolved
}`)}`,
)
