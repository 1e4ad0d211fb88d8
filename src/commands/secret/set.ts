import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {terminalPrompter} from '../../lib/cli/prompt.js'
import {repeatableFlag} from '../../lib/cli/repeatable-flag.js'
import {awsFlags, writeFlags} from '../../lib/cli/resolver-flags.js'
import {secretSet} from '../../lib/secret/set.js'
import {WriteResult} from '../../lib/secret/write/lifecycle.js'

export default class SecretSet extends BaseCommand {
  static args = {
    reference: Args.string({description: 'NAME, NAME#key (one key of a JSON secret), aws-sm://ID[#key] or dotenv://NAME.', required: true}),
  }
  static description = `Store a secret where the chain will find it: AWS Secrets Manager or a dotenv file.

The value comes from stdin, from a hidden prompt on a terminal (asked twice; both must match), or from --from-file; never from the command line. One trailing newline is removed from text; --binary stores bytes exactly (AWS only).

A bare NAME goes to --to (or KEYFLOW_SECRETS_WRITE_TO, or secrets.writeTo in keyflow.json / $KEYFLOW_HOME/config.json), by default the private dotenv file $KEYFLOW_HOME/secrets.env (0600). On AWS, NAME gets the configured --prefix, as the chain looks it up; an existing secret gets a new version (PutSecretValue), a missing one is created (CreateSecret). A dotenv file is rewritten atomically: one line changes, comments, order and every other line stay byte for byte.

NAME#key sets one key of a JSON secret and keeps the others. On AWS it is a compare-and-swap on the version read: a concurrent change is retried on top of the other writer's version, never lost; if the secret keeps changing, exit 7.`
  static examples = [
    {command: 'printf %s "$PW" | <%= config.bin %> <%= command.id %> DB_PASSWORD', description: 'Store a value from stdin in $KEYFLOW_HOME/secrets.env'},
    {command: '<%= config.bin %> <%= command.id %> DB_PASSWORD', description: 'Type it at a hidden prompt (asked twice)'},
    {command: 'printf %s "$PW" | <%= config.bin %> <%= command.id %> db-credentials#password --to aws', description: 'Set one key of a JSON secret in AWS, keeping the others'},
    {command: '<%= config.bin %> <%= command.id %> tls-key --to aws --binary --from-file key.der --description "TLS key" --tag team=data', description: 'A binary secret with a description and a tag'},
    {command: 'printf %s "$TOKEN" | <%= config.bin %> <%= command.id %> API_TOKEN --to dotenv=./.env', description: 'Write to a project dotenv file'},
  ]
  static flags = {
    ...awsFlags,
    ...writeFlags,
    'allow-empty': Flags.boolean({description: 'Store an empty value (refused otherwise).'}),
    binary: Flags.boolean({description: 'Store the bytes exactly, as AWS SecretBinary (no newline is removed).'}),
    description: Flags.string({description: 'AWS: the secret\'s description.', helpGroup: 'AWS'}),
    'from-file': Flags.string({description: 'Read the value from this file instead of stdin or the prompt.'}),
    input: Flags.boolean({allowNo: true, default: true, description: 'Prompt when stdin is a terminal (--no-input never prompts).'}),
    'kms-key-id': Flags.string({description: 'AWS: the KMS key that encrypts the secret.', helpGroup: 'AWS'}),
    tag: repeatableFlag({description: 'AWS: KEY=VALUE tag, repeatable.', helpGroup: 'AWS'}),
  }
  // Extra arguments are refused by secretSet itself, without echoing them: they may be a value.
  static strict = false

  async run(): Promise<WriteResult> {
    const {argv, flags} = await this.parse(SecretSet)
    const {json, stdout} = await secretSet(this.invocation(flags), terminalPrompter, argv as string[], flags)
    this.writeData(stdout)
    return json
  }
}
