import {ErrorJson, ExitCodeValue} from '../../errors.js'
import {toKeyflowError} from '../../output/render-error.js'
import {formatAddress, parseBlockAddress} from '../names.js'
import {isBlockMarker, isRefMarker} from './fields.js'
import {Invocation, resolveBlock} from './load.js'
import {inspectBlock, listBlocks} from './operations.js'

/**
 * `keyflow block check`: loads documents as `run --block`, `sql` and loadBlock would (nested
 * documents, literal secrets decrypted, every reference resolved through the chain), so a
 * reference that cannot resolve shows now rather than when a flow runs. Nothing of any value
 * is kept: each document gets ok, or the error keyflow would have given (names, never values).
 */

export interface BlockCheck {
  address: string
  /** Nested saved documents it points at. */
  blocks: number
  error?: ErrorJson
  ok: boolean
  /** Secret references among its own fields. */
  references: number
}

export interface BlockCheckReport {
  checks: BlockCheck[]
  /** The exit code of the first document that failed; undefined when all passed. */
  exit?: ExitCodeValue
  ok: boolean
}

function countMarkers(value: unknown): {blocks: number; references: number} {
  if (isRefMarker(value)) return {blocks: 0, references: 1}
  if (isBlockMarker(value)) return {blocks: 1, references: 0}
  const total = {blocks: 0, references: 0}
  if (typeof value !== 'object' || value === null) return total
  for (const child of Object.values(value)) {
    const counted = countMarkers(child)
    total.blocks += counted.blocks
    total.references += counted.references
  }

  return total
}

/** Checks the documents named (TYPE/NAME), or every saved one. */
export async function checkBlocks(invocation: Invocation, targets: string[]): Promise<BlockCheckReport> {
  const context = await invocation.blocks()
  const addresses = targets.length > 0 ? targets.map((target) => formatAddress(parseBlockAddress(target, 'TYPE/NAME'))) : (await listBlocks(context)).blocks.map((block) => block.address)
  const checks: BlockCheck[] = []
  let exit: ExitCodeValue | undefined
  for (const address of addresses) {
    let counted = {blocks: 0, references: 0}
    try {
      // One at a time: each resolves its references in one batch, and the report keeps the order asked.
      // eslint-disable-next-line no-await-in-loop
      counted = countMarkers((await inspectBlock(context, address)).data)
      // eslint-disable-next-line no-await-in-loop
      await resolveBlock(invocation, address)
      checks.push({address, ...counted, ok: true})
    } catch (error) {
      const failure = toKeyflowError(error)
      exit ??= failure.exit
      checks.push({address, ...counted, error: failure.toJSON(), ok: false})
    }
  }

  return {checks, exit, ok: exit === undefined}
}
