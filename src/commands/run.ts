import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {repeatableFlag} from '../lib/cli/repeatable-flag.js'
import {resolverFlags, storeFlags} from '../lib/cli/resolver-flags.js'
import {ExitCode, KeyflowError} from '../lib/errors.js'
import {WITHHOLD_GROUPS} from '../lib/run/environment.js'
import {ENV_STYLES, MASK_MODES} from '../lib/run/project.js'
import {runWithSecrets} from '../lib/run/run.js'
import {DEFAULT_WATCH_INTERVAL} from '../lib/run/watch.js'

export default class Run extends BaseCommand {
  static description = `Run a command with secrets in its environment and its output masked.

Everything after -- is the command, run without a shell. Each secret and block is injected as PREFECT__CONTEXT__SECRETS__NAME (what prefect.context.secrets reads), each source key as a plain NAME (what Metaflow sets); a declaration's envStyle, or --env-style for all, changes that. Secrets declared in the "run" section of keyflow.json are injected without flags. Everything is resolved before the command starts: if anything required is missing, nothing runs and every problem is listed.

Output that is not a terminal has every injected value replaced by *****. keyflow exits with the command's exit code (128+N if a signal killed it) and forwards SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, and SIGINT and SIGQUIT when no terminal delivers them. See docs/run.md.`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --secret DB_PASSWORD -- python flow.py', description: 'Inject one secret for a Prefect 1 flow'},
    {command: '<%= config.bin %> <%= command.id %> --secret DB_PASSWORD=db-credentials#password --env-style both -- ./deploy.sh', description: 'Pick a key of a JSON secret, also as a plain variable'},
    {command: '<%= config.bin %> <%= command.id %> --source app/prod-env -- node flow.mjs', description: 'Inject every key of a JSON secret, as Metaflow @secrets does'},
    {command: '<%= config.bin %> <%= command.id %> --block snowflake-connector/prod -- node flow.mjs', description: 'Inject every field of a block (PREFECT__CONTEXT__SECRETS__SNOWFLAKE_CONNECTOR__PROD__*)'},
    {command: '<%= config.bin %> <%= command.id %> -- python flow.py', description: 'Inject what keyflow.json declares'},
    {command: '<%= config.bin %> <%= command.id %> --explain -- python flow.py', description: 'Show where each variable would come from, without running'},
  ]
  /** bin/run.js serves this command without loading oclif: its start-up is every wrapped program's. */
  static fastPath = 'command-after-dashes'
  static flags = {
    ...resolverFlags,
    ...storeFlags,
    'allow-empty': Flags.boolean({description: 'Run even when nothing is declared (no --secret, --source, --block or keyflow.json), without a warning.'}),
    'allow-override': Flags.boolean({allowNo: true, description: 'Let --source keys replace variables already in the environment (Metaflow allow_override; default off, or run.allowOverride).'}),
    'allow-source-key': repeatableFlag({description: 'Let a --source key set this variable although it can make the command load other code (LD_PRELOAD, NODE_OPTIONS, PYTHONPATH...). Repeatable.'}),
    block: repeatableFlag({description: 'A block to inject, TYPE/NAME: each field as TYPE__NAME__FIELD, styled by --env-style (docs/blocks.md). Repeatable.'}),
    'env-style': Flags.option({description: 'Style of every injection, overriding each declaration\'s: prefect: PREFECT__CONTEXT__SECRETS__NAME; plain: NAME; both: both (default: secrets and blocks prefect, sources plain; or run.envStyle).', options: ENV_STYLES})(),
    explain: Flags.boolean({description: 'Resolve everything and show each variable the command would get, what declared it and where its value comes from (source, file, ARN, block and store), never a value; do not start the command.'}),
    'kill-after': Flags.string({description: 'SIGKILL the command (its process group when keyflow has no terminal) this long after forwarding SIGTERM: 10, 10s, 500ms, 2m (default: never, or run.killAfter).'}),
    mask: Flags.option({description: 'Mask injected values in output: auto (when not a terminal), always, never (default auto, or run.mask).', options: MASK_MODES})(),
    'mask-encodings': Flags.string({description: 'Also mask these re-encodings of each secret of 8+ bytes: none, or a comma-separated list of json, url, base64 (default all three, or run.maskEncodings).'}),
    pristine: Flags.boolean({allowNo: true, description: 'Start the command from a minimal environment: PATH, HOME, USER, LANG, TERM, TMPDIR and the injected secrets.'}),
    secret: repeatableFlag({description: 'A secret to inject: NAME (through the chain), ALIAS=REFERENCE, or the keyflow.json object form as JSON (\'{"ref": "X", "envStyle": "plain"}\'). Repeatable.'}),
    source: repeatableFlag({description: 'An AWS secret holding a JSON object: each key is injected as a plain variable (Metaflow @secrets sources). ID, aws-secrets-manager.ID, or the object form as JSON (\'{"id": "X", "role": "ROLE_ARN", "options": {"region": "eu-west-1", "json": false}}\'). Repeatable.'}),
    watch: Flags.string({description: `--watch[=INTERVAL]: poll the injected AWS secrets' versions every INTERVAL (default ${DEFAULT_WATCH_INTERVAL}, at least 5s); when one changes, restart the command with the new values.`, helpGroup: 'WATCH'}),
    'watch-grace': Flags.string({description: 'How long the command may take to stop after --watch-signal before SIGKILL (default 10s).', helpGroup: 'WATCH'}),
    'watch-reload': Flags.boolean({description: 'Only send --watch-signal, do not restart: for programs that reload their own configuration (they keep their environment).', helpGroup: 'WATCH'}),
    'watch-signal': Flags.string({description: 'The signal that stops (or, with --watch-reload, reloads) the command (default TERM).', helpGroup: 'WATCH'}),
    withhold: Flags.option({description: "Keep keyflow's own credentials out of the command: aws (AWS keys, session token, profile, web-identity and container credentials). Repeatable (or run.withhold).", multiple: true, multipleNonGreedy: true, options: WITHHOLD_GROUPS})(),
  }
  static strict = false
  static summary = 'Run a command with secrets injected and its output masked.'
  static usage = '<%= command.id %> [FLAGS] -- COMMAND [ARGS...]'

  async run(): Promise<void> {
    // Only what precedes -- is keyflow's; the command's own flags must never be parsed here.
    const {argv} = this
    const dashes = argv.indexOf('--')
    if (dashes === -1) {
      throw new KeyflowError('Put the command after --.', {code: 'USAGE', exit: ExitCode.USAGE, fix: 'keyflow run --secret DB_PASSWORD -- python flow.py'})
    }

    // --watch takes an optional value, which oclif flags cannot: a bare --watch means the default.
    // Its value may follow as the next word, as the fast path takes it: nothing else before --
    // is a word of its own, so one there that is not a flag can only be --watch's value.
    const own = argv.slice(0, dashes)
    const tokens = own.map((token, index) => (token === '--watch' && (own[index + 1] ?? '-').startsWith('-') ? `--watch=${DEFAULT_WATCH_INTERVAL}` : token))
    const {argv: stray, flags} = await this.parse(Run, tokens)
    // Not echoed: a stray word may be a value typed where its name belonged (`run DB_PASSWORD=…`).
    if (stray.length > 0) {
      throw new KeyflowError(`Unexpected ${stray.length === 1 ? 'word' : `${stray.length} words`} before --, which is neither a flag nor a flag's value.`, {
        code: 'USAGE',
        exit: ExitCode.USAGE,
        fix: 'Put the command and its arguments after --, and each secret after --secret: keyflow run --secret DB_PASSWORD -- python flow.py',
      })
    }

    const code = await runWithSecrets(this.invocation(flags), argv.slice(dashes + 1), flags)
    // keyflow's exit code is the command's; oclif's this.exit() would render it as an error.
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    process.exit(code)
  }
}
