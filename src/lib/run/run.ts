import {ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {warn} from '../output/warn.js'
import {parseAliasedReference} from '../secret/reference.js'
import {childEnvironment} from './environment.js'
import {MaskSet, MIN_MASK_BYTES} from './masker.js'
import {checkKeys, Injection, Plan, referenceProvider, resolvePlan} from './plan.js'
import {declared, EnvStyle, MaskMode, parseRunSection, parseSource, SecretDeclaration, SourceDeclaration} from './project.js'
import {ChildExit, supervise} from './supervise.js'
import {ChildControl, WatchFlags, watchOptions} from './watch.js'

/**
 * `keyflow run [FLAGS] -- COMMAND [ARGS...]` (docs/run.md): gather what the flow needs from
 * flags and the project file, resolve all of it at once, and only when every required
 * secret is there, run the command with them in its environment and its output masked.
 */

export interface RunFlags extends WatchFlags {
  [setting: string]: unknown
  /** TYPE/NAME of blocks to inject. */
  block?: string[]
  'env-style'?: EnvStyle
  mask?: MaskMode
  pristine?: boolean
  secret?: string[]
  source?: string[]
}

/** Every injected value, and the string leaves of JSON values (a flow may print one field of a JSON secret). */
function maskValues(injections: Injection[]): {short: string[]; values: string[]} {
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

  for (const {key, secret, value} of injections) {
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

function masking(injections: Injection[], mode: MaskMode) {
  const stdout = mode === 'always' || (mode === 'auto' && process.stdout.isTTY !== true)
  const stderr = mode === 'always' || (mode === 'auto' && process.stderr.isTTY !== true)
  if (mode === 'never' || (!stdout && !stderr)) return
  const {short, values} = maskValues(injections)
  if (short.length > 0) {
    warn(`${short.length === 1 ? 'The value of' : 'Values of'} ${short.join(', ')} ${short.length === 1 ? 'is' : 'are'} shorter than ${MIN_MASK_BYTES} bytes and will not be masked in the output.`)
  }

  const set = new MaskSet(values)
  return set.size === 0 ? undefined : {set, stderr, stdout}
}

/** Runs the command; resolves to the exit code keyflow must exit with. */
export async function runWithSecrets(invocation: Invocation, command: string[], flags: RunFlags): Promise<number> {
  if (command.length === 0 || command[0] === '') {
    throw new KeyflowError('No command to run.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'Put the command after --: keyflow run --secret DB_PASSWORD -- python flow.py'})
  }

  const {settings} = invocation
  const project = parseRunSection(settings.projectConfig.run, settings.projectFile)
  const flagSecrets: SecretDeclaration[] = (flags.secret ?? []).map((text) =>
    declared(`--secret ${text}`, () => ({...parseAliasedReference(text), optional: false, origin: `--secret ${text}`})),
  )
  const flagSources: SourceDeclaration[] = (flags.source ?? []).map((text) =>
    declared(`--source ${text}`, () => ({optional: false, origin: `--source ${text}`, reference: parseSource(text)})),
  )
  // A flag names the secret for this run: it replaces the project file's entry of the same name.
  const flagKeys = new Set(flagSecrets.map(({key}) => key))
  const secrets = [...flagSecrets, ...project.secrets.filter(({key}) => !flagKeys.has(key))]
  checkKeys(secrets)

  const providers = [referenceProvider(secrets, [...flagSources, ...project.sources])]
  const blocks = [...(flags.block ?? []).map((name) => ({name, optional: false, origin: `--block ${name}`})), ...project.blocks]
  if (blocks.length > 0) {
    // The block store (and its crypto) loads only for runs that inject blocks.
    const {blockProvider} = await import('./blocks.js')
    providers.push(blockProvider(blocks))
  }

  const watch = watchOptions(flags)
  const plan = await resolvePlan(providers, invocation)
  for (const note of plan.notes) warn(note)
  const style = flags['env-style'] ?? project.envStyle ?? 'prefect'
  const mode = flags.mask ?? project.mask ?? 'auto'
  const [program, ...args] = command
  // Every value injected so far stays masked: a restarted command may still print an old one.
  const injected: Injection[] = []
  const start = (current: Plan): ChildControl => {
    const {env, warnings} = childEnvironment(settings.env, current.injections, style, flags.pristine ?? project.pristine ?? false)
    for (const warning of warnings) warn(warning)
    injected.push(...current.injections)
    let signal: ((name: NodeJS.Signals) => void) | undefined
    const exited = supervise({args, command: program, env, masking: masking(injected, mode), onSpawn(send) {
      signal = send
    }})
    return {exited, signal: (name) => signal?.(name)}
  }

  let exit: ChildExit
  if (watch) {
    const [{watchAndRestart}, {connectAws}, {invalidate}] = await Promise.all([import('./watch.js'), import('../secret/sources/aws.js'), import('../cache/manage.js')])
    let api: ReturnType<typeof connectAws> | undefined
    const reresolve = async (changed: string[]) => {
      // A cached value of a secret that moved is no longer the current one.
      invalidate(invocation, changed)
      return resolvePlan(providers, invocation)
    }

    const connect = () => {
      api ??= connectAws(settings, invocation.connectSecretsManager)
      return api
    }

    exit = await watchAndRestart(plan, {reresolve, start}, connect, watch)
  } else {
    exit = await start(plan).exited
  }

  // Like shells, silent about SIGPIPE: it is how a pipeline tells a writer its reader is done.
  if (exit.signal && exit.signal.name !== 'SIGPIPE') {
    process.stderr.write(`keyflow: ${program} was killed by ${exit.signal.name} (signal ${exit.signal.number}); exiting with ${exit.code}.\n`)
  }

  return exit.code
}
