import {isatty} from 'node:tty'

import type {RoleSessions} from '../aws/secrets-manager.js'
import type * as Prefect1 from './prefect1.js'
import type {TerminalOptions} from './terminal.js'

import {contextVariable} from '../env-names.js'
import {ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {emit} from '../output/emit.js'
import {escapeControls} from '../output/escape.js'
import {warn} from '../output/warn.js'
import {PROJECT_FILE_NAME} from '../settings/settings.js'
import {MASK_ENCODINGS, MaskEncoding, maskForms, parseMaskEncodings} from './encodings.js'
import {checkSourceKeys, childEnvironment, WithholdGroup} from './environment.js'
import {MaskSet, MIN_MASK_BYTES} from './masker.js'
import {checkKeys, Injection, Plan, referenceProvider, resolvePlan} from './plan.js'
import {declared, DEFAULT_STYLES, EnvStyle, flagEntry, MaskMode, parseDuration, parseRunSection, secretDeclaration, SecretDeclaration, sourceDeclaration, SourceDeclaration} from './project.js'
import {ChildExit, Masking, PipesAhead, supervise} from './supervise.js'
import {ChildControl, WatchConnect, WatchFlags, WatchOptions, watchOptions} from './watch.js'

/**
 * `keyflow run [FLAGS] -- COMMAND [ARGS...]` (docs/run.md): gather what the flow needs from
 * flags and the project file, resolve all of it at once, and only when every required
 * secret is there, run the command with them in its environment and its output masked.
 */

export interface RunFlags extends WatchFlags {
  [setting: string]: unknown
  /** Run even when nothing is declared, without the warning. */
  'allow-empty'?: boolean
  /** Sources may replace variables already in the environment. */
  'allow-override'?: boolean
  'allow-source-key'?: string[]
  /** TYPE/NAME of blocks to inject. */
  block?: string[]
  'env-style'?: EnvStyle
  /** Show what would be injected and where each value comes from; do not start the command. */
  explain?: boolean
  'kill-after'?: string
  mask?: MaskMode
  'mask-encodings'?: string
  pristine?: boolean
  secret?: string[]
  source?: string[]
  withhold?: WithholdGroup[]
}

/**
 * Every injected value, the string leaves of JSON values (a flow may print one field of a JSON
 * secret), and `also`: the forms a reader will turn values into (Prefect 1's expansions).
 */
function maskValues(injections: Injection[], also: Injection[]): {short: string[]; values: string[]} {
  const short = new Set<string>()
  const values: string[] = []
  const add = (value: string, key: string) => {
    if (Buffer.byteLength(value) >= MIN_MASK_BYTES) values.push(value)
    else if (value !== '') short.add(key)
  }

  const leaves = (node: unknown, key: string): void => {
    if (typeof node === 'string') add(node, `a field of ${key}`)
    else if (typeof node === 'object' && node !== null) for (const child of Object.values(node)) leaves(child, key)
  }

  for (const {key, secret, value} of [...injections, ...also]) {
    if (secret === false) continue
    add(value, key)
    if (/^\s*[[{]/.test(value)) {
      try {
        leaves(JSON.parse(value), key)
      } catch {}
    }
  }

  return {short: [...short], values}
}

/**
 * The output streams `mode` masks: under auto, those that are not a terminal. Asked of the
 * descriptors: process.stdout and process.stderr are made only once the child writes to them.
 */
function maskedStreams(mode: MaskMode): {stderr: boolean; stdout: boolean} {
  return {stderr: mode === 'always' || (mode === 'auto' && !isatty(2)), stdout: mode === 'always' || (mode === 'auto' && !isatty(1))}
}

/**
 * The masking of a command's output, or undefined when there is nothing to mask. The set (every
 * value's re-encodings, indexed) is made when first read, by the first output to scan: a command
 * starts without waiting for it, and one that prints nothing never pays for it.
 */
function masking(injections: Injection[], also: Injection[], mode: MaskMode, encodings: readonly MaskEncoding[]): Masking | undefined {
  const streams = maskedStreams(mode)
  if (!streams.stdout && !streams.stderr) return
  const {short, values} = maskValues(injections, also)
  if (short.length > 0) {
    warn(`${short.length === 1 ? 'The value of' : 'Values of'} ${short.join(', ')} ${short.length === 1 ? 'is' : 'are'} shorter than ${MIN_MASK_BYTES} bytes and will not be masked in the output.`)
  }

  // Each value is one of its own forms, and all of them are MIN_MASK_BYTES or more: none, nothing to mask.
  if (values.length === 0) return
  let set: MaskSet | undefined
  return {
    ...streams,
    get set() {
      set ??= new MaskSet(values.flatMap((value) => maskForms(value, encodings)))
      return set
    },
    set set(next) {
      set = next
    },
  }
}

/**
 * Prefect 1 rewrites context secrets as it loads them: a warning for each value it will
 * change (naming the variable, never the value), and each computable rewritten form, to mask.
 */
function prefectRewrites({describeChanges, prefectReading}: typeof Prefect1, injections: Injection[], env: Record<string, string>): Injection[] {
  const rewritten: Injection[] = []
  for (const injection of injections) {
    const reading = prefectReading(injection.value, env)
    // A plain block field typed as a number or bool (fetch_size, autocommit) is meant to come out as one.
    const typedField = injection.secret === false && reading.changes.every((change) => change.startsWith('literal:') && change !== 'literal:str')
    if (reading.changes.length === 0 || typedField) continue
    warn(
      `${contextVariable(injection.key)} (${injection.origin}): Prefect 1's config loader ${describeChanges(reading.changes)}, so a flow does not get the value as stored. ` +
        'To keep it intact, inject it as a plain variable (--env-style plain, or "envStyle": "plain" on the declaration) and read os.environ. See docs/compat.md "Prefect 1".',
    )
    if (reading.expanded !== undefined && reading.expanded !== injection.value) rewritten.push({...injection, value: reading.expanded})
  }

  return rewritten
}

let prefect1: typeof Prefect1 | undefined
/**
 * Checks names injected in context style against Prefect 1's loader. Its model (and the Python
 * literal parser it uses) loads only when there are any: a run that injects only plain
 * variables never reads them.
 */
async function checkContext(names: Array<{key: string; origin: string}>): Promise<void> {
  if (names.length === 0) return
  prefect1 ??= await import('./prefect1.js')
  prefect1.checkContextNames(names)
}

/** Most likely a keyflow.json left in another directory, or a forgotten --secret: said, rather than a flow run without its secrets in silence. */
function warnNothingDeclared(cwd: string, program: string): void {
  warn(`nothing to inject: no --secret, --source or --block, and no ${PROJECT_FILE_NAME} in ${cwd} or above; ${program} runs with keyflow adding nothing. Declare what it needs (\`keyflow init\` writes ${PROJECT_FILE_NAME}), or pass --allow-empty.`)
}

/**
 * The pipes a masked run needs, made ahead: mkfifo is a process, which runs while the secrets
 * resolve. None where nothing is declared (nothing to mask), for --explain (no command runs),
 * without masked streams, or where the pseudo-terminal serves.
 */
function maskingPipes(mode: MaskMode, run: {declarations: number; env: NodeJS.ProcessEnv; explain?: boolean; watch?: WatchOptions}): PipesAhead | undefined {
  const {stderr, stdout} = maskedStreams(mode)
  if (run.declarations === 0 || run.explain || (!stdout && !stderr)) return undefined
  if (!run.watch && isatty(0) && isatty(1) && isatty(2)) return undefined
  return new PipesAhead(Number(stdout) + Number(stderr), run.env)
}

/**
 * Masking where keyflow's stdin, stdout and stderr are all a terminal: the child gets a
 * pseudo-terminal, so it keeps colours, line editing and raw mode. Undefined where that does
 * not apply, or where the pty library cannot load (then, with a notice, the child writes to
 * pipes as before).
 */
async function inTerminal(options: Omit<TerminalOptions, 'set'>, masks: Masking): Promise<ChildExit | undefined> {
  // The descriptors, not process.stdin: making that stream costs milliseconds, and only a terminal needs it.
  if (!isatty(0) || !isatty(1) || !isatty(2)) return undefined
  const {loadPty, superviseInTerminal} = await import('./terminal.js')
  const pty = await loadPty()
  if (pty) return superviseInTerminal(pty, {...options, set: masks.set})
  warn('The pseudo-terminal library (@lydell/node-pty) cannot be loaded here: the command writes to masking pipes and sees no terminal.')
}

/** Runs the command; resolves to the exit code keyflow must exit with. */
export async function runWithSecrets(invocation: Invocation, command: string[], flags: RunFlags): Promise<number> {
  if (command.length === 0 || command[0] === '') {
    throw new KeyflowError('No command to run.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Put the command after --: keyflow run --secret DB_PASSWORD -- python flow.py'})
  }

  const {settings} = invocation
  const project = parseRunSection(settings.projectConfig.run, settings.projectFile, invocation.plugins)
  // Checked before anything is resolved: a typo must not cost an AWS round trip.
  if (flags['kill-after'] !== undefined) parseDuration(flags['kill-after'], '--kill-after')
  const encodings = flags['mask-encodings'] === undefined ? (project.maskEncodings ?? MASK_ENCODINGS) : parseMaskEncodings(flags['mask-encodings'], '--mask-encodings')
  const flagSecrets: SecretDeclaration[] = (flags.secret ?? []).map((text) => secretDeclaration(declared(`--secret ${text}`, () => flagEntry(text)), `--secret ${text}`, invocation.plugins))
  const flagSources: SourceDeclaration[] = (flags.source ?? []).map((text) => sourceDeclaration(declared(`--source ${text}`, () => flagEntry(text)), `--source ${text}`, invocation.plugins))
  // A flag names the secret for this run: it replaces the project file's entry of the same name.
  const flagKeys = new Set(flagSecrets.map(({key}) => key))
  const secrets = [...flagSecrets, ...project.secrets.filter(({key}) => !flagKeys.has(key))]
  // --env-style overrides every declaration; then the declaration's own, the file's, the kind's default.
  const styleOf = (injection: Pick<Injection, 'kind' | 'style'>): EnvStyle => flags['env-style'] ?? injection.style ?? project.envStyle ?? DEFAULT_STYLES[injection.kind]
  const secretStyle = (declaration: SecretDeclaration) => styleOf({kind: 'secret', style: declaration.envStyle})
  checkKeys(secrets, secretStyle)
  const blocks = [...(flags.block ?? []).map((name) => ({name, optional: false, origin: `--block ${name}`})), ...project.blocks]
  const watch = watchOptions(flags)
  const declarations = secrets.length + flagSources.length + project.sources.length + blocks.length
  const mode = flags.mask ?? project.mask ?? 'auto'
  const pipesAhead = maskingPipes(mode, {declarations, env: settings.env, explain: flags.explain, watch})
  try {
    await checkContext(secrets.filter((declaration) => secretStyle(declaration) !== 'plain'))

    const providers = [referenceProvider(secrets, [...flagSources, ...project.sources])]
    if (blocks.length > 0) {
      // The block store (and its crypto) loads only for runs that inject blocks.
      const {blockProvider} = await import('./blocks.js')
      providers.push(blockProvider(blocks))
    }

    if (declarations === 0 && !settings.projectFile && !flags['allow-empty']) warnNothingDeclared(settings.cwd, command[0])
    const plan = await resolvePlan(providers, invocation)
    const inContext = (current: Plan) => current.injections.filter((injection) => styleOf(injection) !== 'plain')
    await checkContext(inContext(plan))
    for (const note of plan.notes) warn(note)
    const allowedSourceKeys = [...(flags['allow-source-key'] ?? []), ...project.allowSourceKeys]
    if (flags.explain) {
      checkSourceKeys(plan.injections, styleOf, allowedSourceKeys)
      const {explainRun} = await import('./explain.js')
      emit(explainRun(invocation, command, plan.injections, styleOf), invocation.output.json)
      return 0
    }

    const withhold = [...new Set([...(flags.withhold ?? []), ...project.withhold])]
    const killAfterMs = flags['kill-after'] === undefined ? project.killAfterMs : parseDuration(flags['kill-after'], '--kill-after')
    const [program, ...args] = command
    // Every value injected so far, and what Prefect 1 rewrites them to, stays masked: a restarted command may still print an old one.
    const injected: Injection[] = []
    const rewritten: Injection[] = []
    // The running command's masking, which a reload (--watch-reload) widens to the new values in place.
    let running: Masking | undefined
    const reload = (current: Plan) => {
      injected.push(...current.injections)
      if (running) running.set = masking(injected, rewritten, mode, encodings)!.set
    }

    const start = (current: Plan): ChildControl => {
      checkSourceKeys(current.injections, styleOf, allowedSourceKeys)
      const {env, warnings} = childEnvironment(settings.env, current.injections, {
        allowOverride: flags['allow-override'] ?? project.allowOverride ?? false,
        pristine: flags.pristine ?? project.pristine ?? false,
        styleOf,
        withhold,
      })
      for (const warning of warnings) warn(warning)
      injected.push(...current.injections)
      // Loaded by checkContext whenever the plan injects in context style.
      if (prefect1) rewritten.push(...prefectRewrites(prefect1, inContext(current), env))
      const mask = masking(injected, rewritten, mode, encodings)
      running = mask
      let signal: ((name: NodeJS.Signals) => void) | undefined
      const onSpawn = (send: (name: NodeJS.Signals) => void) => {
        signal = send
      }

      // A watched command restarts through the supervisor, which can signal it; the pseudo-terminal path cannot.
      const inPty = mask && !watch ? inTerminal({args, command: program, env}, mask) : Promise.resolve()
      const exited = inPty.then((exit) => exit ?? supervise({args, command: program, env, killAfterMs, masking: mask, notices: watch !== undefined, onSpawn, pipes: mask ? pipesAhead?.take() : undefined}))
      return {exited, signal: (name) => signal?.(name)}
    }

    let exit: ChildExit
    if (watch) {
      const [{watchAndRestart}, {connectAws}, {invalidate}] = await Promise.all([import('./watch.js'), import('../secret/sources/aws.js'), import('../cache/manage.js')])
      // One client per place the watched secrets were read (region, role), each role assumed once.
      const apis = new Map<string, ReturnType<typeof connectAws>>()
      const roleSessions: RoleSessions = new Map()
      const reresolve = async (changed: string[]) => {
        // A cached value of a secret that moved is no longer the current one.
        invalidate(invocation, changed)
        const next = await resolvePlan(providers, invocation)
        await checkContext(inContext(next))
        return next
      }

      const connect: WatchConnect = ({region, role}) => {
        const key = JSON.stringify([region ?? null, role ?? null])
        if (!apis.has(key)) apis.set(key, connectAws(settings, {connect: invocation.connectSecretsManager, region, role, roleSessions}))
        return apis.get(key)!
      }

      exit = await watchAndRestart(plan, {reload, reresolve, start}, connect, watch)
    } else {
      exit = await start(plan).exited
    }

    // Like shells, silent about SIGPIPE: it is how a pipeline tells a writer its reader is done.
    if (exit.signal && exit.signal.name !== 'SIGPIPE') {
      process.stderr.write(`keyflow: ${escapeControls(program)} was killed by ${exit.signal.name} (signal ${exit.signal.number}); exiting with ${exit.code}.\n`)
    }

    return exit.code
  } finally {
    await pipesAhead?.close()
  }
}
