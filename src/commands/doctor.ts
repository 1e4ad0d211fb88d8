import {Flags, Interfaces} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {resolverFlags} from '../lib/cli/resolver-flags.js'
import {DoctorReport, runDoctor} from '../lib/doctor/doctor.js'
import {renderDoctor} from '../lib/doctor/render.js'

export default class Doctor extends BaseCommand {
  static description = `Check what keyflow would use and say what is wrong, one line each: settings and where each came from, the project file, dotenv files (present, private, parseable: a bad line by number), AWS (region, which credential provider answered, one authenticated call), the master key and every block document (decrypts, references resolve), Snowflake connectors (log in, with --snowflake), shell completion.

Never prints a value. The report goes to stdout (--json: {"ok", "checks": [...]}); the exit code is 0 only when nothing is wrong, otherwise that of the first problem.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --snowflake --json']
  // Typed as a flag table: the generated resolver flags would not fit parse()'s inference otherwise.
  static flags: Interfaces.FlagInput = {...resolverFlags, snowflake: Flags.boolean({description: 'Also log in to each snowflake-connector block (SELECT 1).'})}

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const report = await runDoctor(this.invocation(flags), {snowflake: Boolean(flags.snowflake)})
    this.writeData(renderDoctor(report))
    if (report.exit !== undefined) process.exitCode = report.exit
    return report
  }
}
