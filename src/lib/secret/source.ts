import {KeyflowError} from '../errors.js'
import {SourceKind} from '../settings/settings.js'

/**
 * A source answers lookups with, for each request, a hit (value plus provenance), a typed
 * miss (with the reason and how to set the secret there), or a failure (a KeyflowError).
 * Lookups come in batches so a remote source can fetch many names in few calls; a local
 * source just answers each. A source that throws fails every request of the batch.
 */

export interface LookupRequest {
  /** True when the reference addressed this source directly (aws-sm://..., env://...). */
  direct: boolean
  /** The name through the chain, or the exact id when addressed directly. */
  name: string
  versionId?: string
  versionStage?: string
}

export type Provenance =
  | {arn: string; name: string; source: 'aws'; versionId?: string; versionStages?: string[]}
  | {file: string; line?: number; source: 'dotenv'}
  | {source: 'context' | 'env'; variable: string}

export interface Hit {
  kind: 'hit'
  provenance: Provenance
  value: string | Uint8Array
}

export interface Miss {
  /** How to set the secret in this source. */
  hint?: string
  kind: 'miss'
  reason: string
}

export interface Failure {
  error: KeyflowError
  kind: 'failure'
}

export type Outcome = Failure | Hit | Miss

export interface SecretSource {
  readonly kind: SourceKind
  lookup(requests: LookupRequest[]): Promise<Outcome[]>
}

export const hit = (value: string | Uint8Array, provenance: Provenance): Hit => ({kind: 'hit', provenance, value})
export const miss = (reason: string, hint?: string): Miss => ({hint, kind: 'miss', reason})
export const failure = (error: KeyflowError): Failure => ({error, kind: 'failure'})

export function describeProvenance(provenance: Provenance): string {
  switch (provenance.source) {
    case 'aws': {
      const version = provenance.versionId ? ` version ${provenance.versionId}` : ''
      const stages = provenance.versionStages?.length ? ` (${provenance.versionStages.join(', ')})` : ''
      return `aws ${provenance.arn}${version}${stages}`
    }

    case 'dotenv': {
      return `dotenv ${provenance.file}${provenance.line ? `:${provenance.line}` : ''}`
    }

    default: {
      return `${provenance.source} $${provenance.variable}`
    }
  }
}
