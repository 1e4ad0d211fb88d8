import {Invocation} from '../invocation.js'
import {relativeTime, table} from '../output/table.js'
import {ListedName as SourceName} from './source.js'

/**
 * `keyflow secret ls`: the names each source of the chain holds (each source lists its own,
 * never a value), and for a name several sources hold, which one the chain would answer with
 * (the answer to "why do I get the old password?").
 */

export interface ListedName extends SourceName {
  /** The source and place the chain answers with instead, when this one is shadowed. */
  shadowedBy?: string
  source: string
  /** True for the place the chain resolves the name from. */
  wins: boolean
}

export interface SourceListing {
  /** Remote calls made (AWS: one ListSecrets per page of up to 100). */
  calls?: number
  detail?: string
  source: string
  status: 'listed' | 'skipped'
}

export interface SecretLsResult {
  secrets: ListedName[]
  sources: SourceListing[]
}

export async function listSecrets(invocation: Invocation): Promise<SecretLsResult> {
  const {chain} = invocation
  const listings = await Promise.all(
    chain.order.map(async (kind) => {
      const source = chain.sources[kind]
      const listing = source.list ? await source.list() : {detail: 'this source cannot list its names', names: [], skipped: 'cannot list'}
      return {kind, listing}
    }),
  )
  // In chain order (sources in --sources order, dotenv files in theirs): the first place wins.
  const found = listings.flatMap(({kind, listing}) => listing.names.map((name) => ({...name, source: kind})))
  const winners = new Map<string, (typeof found)[number]>()
  for (const entry of found) if (!winners.has(entry.name)) winners.set(entry.name, entry)
  const secrets = found
    .map((entry): ListedName => {
      const winner = winners.get(entry.name)!
      return winner === entry ? {...entry, wins: true} : {...entry, shadowedBy: `${winner.source} ${winner.where}`, wins: false}
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const sources = listings.map(({kind, listing}): SourceListing =>
    listing.skipped ? {detail: listing.skipped, source: kind, status: 'skipped'} : {calls: listing.calls, detail: listing.detail, source: kind, status: 'listed'},
  )
  return {secrets, sources}
}

export function renderSecretList(result: SecretLsResult): string {
  if (result.secrets.length === 0) return 'No secrets found in the sources listed.\n'
  // The date and stage columns only when a source gave them (AWS).
  const dated = result.secrets.some((entry) => entry.lastChanged !== undefined || entry.stages !== undefined)
  const row = (entry: ListedName) => [entry.name, entry.source, entry.where, ...(dated ? [entry.lastChanged ? relativeTime(entry.lastChanged) : '', entry.stages?.join(',') ?? ''] : []), entry.wins ? 'wins' : `shadowed by ${entry.shadowedBy}`]
  return table(['NAME', 'SOURCE', 'WHERE', ...(dated ? ['CHANGED', 'STAGES'] : []), 'CHAIN'], result.secrets.map((entry) => row(entry)))
}

export async function secretLs(invocation: Invocation): Promise<{json: SecretLsResult; stdout: string}> {
  const result = await listSecrets(invocation)
  // Diagnostics, not data: a source that listed nothing, and why, is said on stderr.
  for (const source of result.sources) if (source.status === 'skipped') process.stderr.write(`${source.source}: skipped (${source.detail})\n`)
  return {json: result, stdout: renderSecretList(result)}
}
