import {Command, Interfaces} from '@oclif/core'

import {createInvocation, Invocation, settingsFlags} from '../invocation.js'
import {guardOutput, writeData, writeJson} from '../output/emit.js'
import {reportError} from '../output/render-error.js'
import {terminalPrompter} from './prompt.js'

/**
 * The base of every keyflow command: `--json` everywhere, one way of rendering errors, and
 * exit codes that survive `--json` (oclif 4's own catch turns them all into 1 there,
 * oclif/core#1423). `invocation(flags)` builds the command's composition root, once.
 *
 * Under --json, stdout carries exactly one JSON document on success and nothing on failure;
 * the error document goes to stderr with the other diagnostics.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  protected async catch(error: Interfaces.CommandError): Promise<void> {
    reportError(error, this.jsonEnabled())
  }

  async init(): Promise<void> {
    await super.init()
    guardOutput(() => this.jsonEnabled())
  }

  /** The per-invocation context, from the parsed flags (settings flags among them). */
  protected invocation(flags: Record<string, unknown> = {}): Invocation {
    return createInvocation({flags: settingsFlags(flags), output: {json: this.jsonEnabled()}, prompter: terminalPrompter})
  }

  logJson(json: unknown): void {
    writeJson(json)
  }

  /** Data for stdout, unless --json is on (then the command's return value is the data). */
  protected writeData(data: string | Uint8Array): void {
    if (!this.jsonEnabled()) writeData(data)
  }
}
