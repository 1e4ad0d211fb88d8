import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Invocation} from './lib/invocation.js'

/**
 * Start-up fast path. `PW=$(keyflow secret get NAME)` runs once per secret in many scripts, and
 * importing @oclif/core alone costs about as much as starting node. bin/run.js therefore
 * hands the commands marked `static fastPath = true` to this module first, through the bundle
 * of the command (src/fast-path-get.ts, src/fast-path-run.ts): it parses argv with the flag
 * specs oclif itself wrote into oclif.manifest.json (the build puts those commands' part in
 * each bundle) and calls the same lib function the oclif command calls. Anything it does not
 * fully understand (help, an unknown flag, a value outside a flag's options, a missing
 * argument) goes to oclif instead, which owns every message about usage.
 * test/fuzz/parsers.test.ts checks both paths agree.
 */

interface ManifestFlag {
  allowNo?: boolean
  char?: string
  default?: unknown
  multiple?: boolean
  name: string
  options?: string[]
  type: 'boolean' | 'option'
}

interface ManifestCommand {
  /** true, or 'command-after-dashes' when every argument must follow `--` (keyflow run). */
  fastPath?: 'command-after-dashes' | boolean
  flags: Record<string, ManifestFlag>
  id: string
}

/**
 * oclif.manifest.json's fast commands, which the bundle has built in (`define` in
 * scripts/bundle.mjs): JSON text, as JSON.parse makes the objects faster than V8 evaluates the
 * same object literal (0.08 ms).
 */
declare const FAST_PATH_MANIFEST: string

/** A fast command's work, after its argv is parsed: what it prints, or (run) the exit it ends with. */
export type FastHandler = (invocation: Invocation, argv: string[], flags: Record<string, unknown>) => Promise<{json: unknown; stdout: string | Uint8Array}>

function loadCommand(handlers: Record<string, FastHandler>, argv: string[]): undefined | {command: ManifestCommand; rest: string[]} {
  for (const id of Object.keys(handlers)) {
    const words = id.split(':')
    const spaced = words.every((word, index) => argv[index] === word)
    if (!spaced && argv[0] !== id) continue
    const {commands} = JSON.parse(FAST_PATH_MANIFEST) as {commands: Record<string, ManifestCommand>}
    const command = Object.hasOwn(commands, id) ? commands[id] : undefined
    if (!command?.fastPath) return undefined
    return {command, rest: argv.slice(spaced ? words.length : 1)}
  }

  return undefined
}

/** Parses like oclif for the flag shapes keyflow's fast commands use; undefined means "ask oclif". */
export function parseArgv(
  command: ManifestCommand,
  tokens: string[],
): undefined | {argv: string[]; flags: Record<string, unknown>} {
  const flags: Record<string, unknown> = {}
  const argv: string[] = []
  const afterDashesOnly = command.fastPath === 'command-after-dashes'
  const byChar = new Map(Object.values(command.flags).filter((flag) => flag.char).map((flag) => [flag.char!, flag]))
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]
    if (token === '--') {
      if (afterDashesOnly && argv.length > 0) return undefined
      // oclif reorders flag-like arguments after `--` (test/unit/fuzz/parsers.test.ts found it); it owns that case.
      if (!afterDashesOnly && tokens.slice(index + 1).some((rest, offset) => rest.startsWith('-') || tokens.indexOf(rest) !== index + 1 + offset)) return undefined
      argv.push(...tokens.slice(index + 1))
      return argv.length > 0 ? {argv, flags: withDefaults(command, flags)} : undefined
    }

    // BaseCommand's enableJsonFlag adds --json outside the manifest's flag list.
    if (token === '--json') {
      flags.json = true
      continue
    }

    if (!token.startsWith('-') || token === '-') {
      // oclif moves an argument next to an earlier token of the same text (test/unit/fuzz/parsers.test.ts): it owns that case.
      if (tokens.indexOf(token) !== index) return undefined
      argv.push(token)
      continue
    }

    let flag: ManifestFlag | undefined
    let value: string | undefined
    if (token.startsWith('--')) {
      const equals = token.indexOf('=')
      const name = equals === -1 ? token.slice(2) : token.slice(2, equals)
      if (equals !== -1) value = token.slice(equals + 1)
      flag = Object.hasOwn(command.flags, name) ? command.flags[name] : undefined
      if (!flag && name.startsWith('no-')) {
        const negated = Object.hasOwn(command.flags, name.slice(3)) ? command.flags[name.slice(3)] : undefined
        if (negated?.type !== 'boolean' || !negated.allowNo || value !== undefined) return undefined
        flags[negated.name] = false
        continue
      }
    } else {
      flag = byChar.get(token[1])
      if (token.length > 2) value = token.slice(2)
    }

    if (!flag) return undefined
    if (flag.type === 'boolean') {
      if (value !== undefined) return undefined
      flags[flag.name] = true
      continue
    }

    if (value === undefined) {
      value = tokens[++index]
      if (value === undefined || value.startsWith('-')) return undefined
    }

    if (flag.options && !flag.options.includes(value)) return undefined
    if (flag.multiple) appendValue(flags, flag.name, value)
    else if (flag.name in flags) return undefined
    else flags[flag.name] = value
  }

  return argv.length > 0 && !afterDashesOnly ? {argv, flags: withDefaults(command, flags)} : undefined
}

/** In place: a command line can repeat a flag thousands of times (run --secret). */
function appendValue(flags: Record<string, unknown>, name: string, value: string): void {
  const values = flags[name] as string[] | undefined
  if (values) values.push(value)
  else flags[name] = [value]
}

function withDefaults(command: ManifestCommand, flags: Record<string, unknown>): Record<string, unknown> {
  for (const flag of Object.values(command.flags)) {
    if (!(flag.name in flags) && flag.default !== undefined) flags[flag.name] = flag.default
  }

  return flags
}

/**
 * The fast path of the commands `handlers` names (by oclif id): it runs the command and returns
 * true, or returns false to let oclif handle the invocation.
 */
export const fastPath = (handlers: Record<string, FastHandler>) =>
  async (tokens: string[]): Promise<boolean> => {
    if (tokens.includes('--version')) {
      const {versionAnswer} = await import('./lib/cli/version.js')
      // eslint-disable-next-line n/no-unsupported-features/node-builtins -- only the bundle runs this file, and scripts/bundle.mjs gives it its own directory there
      const answer = versionAnswer(tokens, JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')))
      if (answer !== undefined) {
        process.stdout.write(answer)
        return true
      }
    }

    const found = loadCommand(handlers, tokens)
    if (!found) return false
    const parsed = parseArgv(found.command, found.rest)
    if (!parsed) return false
    // Loaded only once the fast path is sure it serves the command: other commands go to oclif.
    const [{createInvocation, settingsFlags}, {emit}] = await Promise.all([import('./lib/invocation.js'), import('./lib/output/emit.js')])
    const invocation = createInvocation({flags: settingsFlags(parsed.flags), output: parsed.flags.json === true ? {json: true} : undefined})
    try {
      emit(await handlers[found.command.id](invocation, parsed.argv, parsed.flags), invocation.output.json)
    } catch (error) {
      const {reportError} = await import('./lib/output/render-error.js')
      reportError(error, invocation.output.json)
      // The failure is said: what the resolution left behind must not keep keyflow running, such
      // as an AWS retry's backoff timer that --aws-total-timeout cut short (the SDK does not clear
      // it), which could hold a script for 20 s past its deadline. stderr is drained first. A
      // success needs none of this: every call it made has answered.
      await new Promise((resolve) => {
        process.stderr.write('', resolve)
      })
      // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
      process.exit()
    }

    return true
  }
