import {Flags} from '@oclif/core'

import {RekeyResult, rekeyStore} from '../../lib/block/keys/rekey.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {renderRekey} from '../../lib/cli/block-render.js'

export default class BlockRekey extends BaseCommand {
  static description = `Rotate the master key: re-encrypt every secret value and re-authenticate every record in the block store with a new key.

With the key file ($KEYFLOW_HOME/master.key) keyflow makes the new key. With KEYFLOW_MASTER_KEY, give the new key in KEYFLOW_NEW_MASTER_KEY and swap the variables afterwards. Interrupted, it can be run again and finishes the same rotation.`
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    {command: 'KEYFLOW_NEW_MASTER_KEY="$(openssl rand -base64 32)" <%= config.bin %> <%= command.id %>', description: 'When the key is in KEYFLOW_MASTER_KEY'},
  ]
  static flags = {
    'adopt-unauthenticated': Flags.boolean({
      description:
        'Also authenticate records that carry no MAC (written by a keyflow from before records were authenticated), after checking their secret fields decrypt. Only for a store you have checked: keyflow takes them as yours.',
    }),
  }

  async run(): Promise<RekeyResult> {
    const {flags} = await this.parse(BlockRekey)
    const result = await rekeyStore(await this.invocation().blocks(), {adoptUnauthenticated: flags['adopt-unauthenticated']})
    this.writeData(renderRekey(result))
    return result
  }
}
