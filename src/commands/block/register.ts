import {Flags} from '@oclif/core'

import {registerBlockTypes, RegisterResult} from '../../lib/block/types/register.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {renderRegister} from '../../lib/cli/block-render.js'

export default class BlockRegister extends BaseCommand {
  static description = `Register block types from a Node module or a file.

A module (an installed package name, resolved from the working directory, or a path) or a file (.js, .mjs, .cjs or .json) exports block type definitions: plain objects {slug, name, description, fields, secretFields, version}. Registering again is idempotent: unchanged types stay, changed ones get a new schema. prefect_aws, prefect_snowflake, aws and snowflake name the built-in collections.`
  static examples = [
    {command: '<%= config.bin %> <%= command.id %> -m keyflow-blocks-acme', description: 'Register the types an installed package exports'},
    {command: '<%= config.bin %> <%= command.id %> -f ./blocks/types.json', description: 'Register the types in a JSON file'},
    {command: '<%= config.bin %> <%= command.id %> -m prefect_snowflake', description: 'The built-in Snowflake types (always registered)'},
  ]
  static flags = {
    file: Flags.string({char: 'f', description: 'A .js, .mjs, .cjs or .json file of block type definitions.', exclusive: ['module']}),
    module: Flags.string({char: 'm', description: 'A package name or a path to a module that exports block type definitions.', exclusive: ['file']}),
  }

  async run(): Promise<RegisterResult> {
    const {flags} = await this.parse(BlockRegister)
    const result = await registerBlockTypes(await this.invocation().blocks(), {cwd: process.cwd(), file: flags.file, module: flags.module})
    this.writeData(renderRegister(result))
    return result
  }
}
