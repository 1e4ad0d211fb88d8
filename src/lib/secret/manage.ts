import type {Prompter} from '../block/documents/operations.js'

import {ExitCode, KeyflowError} from '../errors.js'
import {Invocation} from '../invocation.js'
import {relativeTime, table} from '../output/table.js'
import {DEFAULT_RECOVERY_DAYS, DeleteResult, deleteSecret, planWrite, restoreSecret, secretHistory} from './write/lifecycle.js'

/** `keyflow secret rm`, `restore` and `history`: argument handling and text output. */

export interface SecretRmFlags {
  [setting: string]: unknown
  'force-delete-now'?: boolean
  'recovery-days'?: number
  yes?: boolean
}

export async function secretRm(invocation: Invocation, prompter: Prompter, reference: string, flags: SecretRmFlags): Promise<{json: DeleteResult & {deleted: boolean}; stdout: string}> {
  const options = {forceDeleteWithoutRecovery: flags['force-delete-now'], recoveryWindowInDays: flags['recovery-days']}
  // A bad reference or setting fails before anything is asked.
  const {place} = planWrite(invocation, reference)
  if (!flags.yes) {
    if (!prompter.canPrompt()) {
      throw new KeyflowError('Refusing to delete without confirmation: stdin is not a terminal.', {code: 'CONFIRMATION_REQUIRED', exit: ExitCode.USAGE, fix: 'Pass --yes to confirm.', where: reference})
    }

    const what = place.kind === 'aws' ? `AWS secret ${place.secretId}` : `${place.name} from ${place.file}`
    const how = place.kind === 'dotenv' ? '' : flags['force-delete-now'] ? ' at once, with no recovery' : ` (recoverable for ${flags['recovery-days'] ?? DEFAULT_RECOVERY_DAYS} days)`
    if (!(await prompter.confirm(`Delete ${what}${how}?`))) {
      return {json: {deleted: false, name: reference, reference, target: 'aws'}, stdout: 'Nothing was deleted.\n'}
    }
  }

  const result = await deleteSecret(invocation, reference, options)
  let stdout: string
  if (result.target === 'dotenv') stdout = `Removed ${result.name} from ${result.file} (${result.removed} line${result.removed === 1 ? '' : 's'}).\n`
  else if (result.deletionDate && !flags['force-delete-now']) stdout = `Scheduled ${result.name} for deletion on ${result.deletionDate} (${result.arn}); undo with: keyflow secret restore ${reference}\n`
  else stdout = `Deleted ${result.name} for good (${result.arn}).\n`
  return {json: {...result, deleted: true}, stdout}
}

export async function secretRestore(invocation: Invocation, reference: string) {
  const result = await restoreSecret(invocation, reference)
  return {json: result, stdout: `Restored ${result.name} (${result.arn}).\n`}
}

export async function secretVersions(invocation: Invocation, reference: string) {
  const result = await secretHistory(invocation, reference)
  const rows = result.versions.map((version) => [version.versionId, version.stages.join(',') || '-', version.createdDate ? relativeTime(version.createdDate) : ''])
  if (result.deletionDate) process.stderr.write(`${result.name} is scheduled for deletion on ${result.deletionDate}; undo with: keyflow secret restore ${reference}\n`)
  return {json: result, stdout: table(['VERSION ID', 'STAGES', 'CREATED'], rows)}
}
