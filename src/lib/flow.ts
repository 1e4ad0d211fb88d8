import {isKeyflowError} from './errors.js'
import {reportError} from './output/render-error.js'

/**
 * The entry point of a script or flow built on the library: runs `main`, and when it fails
 * with a KeyflowError prints what the CLI would (what, where, how to fix; JSON when
 * KEYFLOW_CONTENT_TYPE=json) and sets its exit code, instead of Node's stack trace of an
 * uncaught error. Any other error is the flow's own: rethrown for Node to report.
 */
export async function runFlow(main: () => Promise<void>): Promise<void> {
  try {
    await main()
  } catch (error) {
    if (!isKeyflowError(error)) throw error
    reportError(error, process.env.KEYFLOW_CONTENT_TYPE?.toLowerCase() === 'json')
  }
}
