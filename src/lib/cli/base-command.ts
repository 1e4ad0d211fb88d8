import {Command, Interfaces} from '@oclif/core'

import {reportError} from '../output/render-error.js'

/**
 * The base of every keyflow command: `--json` everywhere, one way of rendering errors, and
 * exit codes that survive `--json` (oclif 4's own catch turns them all into 1 there,
 * oclif/core#1423).
 *
 * Under --json, stdout carries exactly one JSON document on success and nothing on failure;
 * the error document goes to stderr with the other diagnostics.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  protected async catch(error: Interfaces.CommandError): Promise<void> {
    reportError(error, this.jsonEnabled())
  }

  /** Plain JSON: the same bytes whether stdout is a terminal or a pipe, no colour codes. */
  logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  /** Data for stdout, unless --json is on (then the command's return value is the data). */
  protected writeData(data: string | Uint8Array): void {
    if (!this.jsonEnabled()) process.stdout.write(data)
  }
}
