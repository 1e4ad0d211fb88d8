import {Invocation} from '../invocation.js'
import {humanLines} from '../output/escape.js'
import {describeProvenance} from '../secret/chain.js'
import {Provenance} from '../secret/source.js'
import {variableNames} from './environment.js'
import {Injection} from './plan.js'
import {EnvStyle} from './project.js'

/**
 * `keyflow run --explain`: what the command would get, variable by variable, with what
 * declared it and where its value comes from (the source and its place: a variable, a dotenv
 * line, an AWS ARN and version, a block field and the store that holds it), never a value.
 * Everything is resolved as for a run, so a missing secret fails as it would; the command
 * itself is not started.
 */

export interface ExplainedInjection {
  kind: Injection['kind']
  origin: string
  provenance?: Provenance
  /** Masked in the command's output (a block's plain fields are not). */
  secret: boolean
  /** The variables it is injected as, after its style. */
  variables: string[]
}

export interface RunExplanation {
  command: string[]
  injections: ExplainedInjection[]
}

export function explainRun(invocation: Invocation, command: string[], injections: Injection[], styleOf: (injection: Injection) => EnvStyle): {json: RunExplanation; stdout: string} {
  const explained = injections.map((injection): ExplainedInjection => ({
    kind: injection.kind,
    origin: injection.origin,
    provenance: injection.provenance,
    secret: injection.secret !== false,
    variables: variableNames(injection.key, styleOf(injection)),
  }))
  const lines = [`${command.join(' ')} would get:`]
  for (const item of explained) {
    const from = item.provenance ? describeProvenance(invocation.plugins, item.provenance) : 'no provenance'
    lines.push(`  ${item.variables.join(', ')}`, `    <- ${item.origin}: ${from}${item.secret ? '' : ' (not masked)'}`)
  }

  if (explained.length === 0) lines.push('  nothing')
  lines.push('', 'The command was not started (--explain).')
  return {json: {command, injections: explained}, stdout: humanLines(lines)}
}
