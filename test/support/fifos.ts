import {existsSync, lstatSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

/**
 * What masked runs left in the temporary directory `tmp`, but for the FIFOs they made ahead for
 * later runs (FifoStash in src/lib/run/supervise.ts): its directory may hold only spares.
 */
export function leftInTmp(tmp: string): string[] {
  const stash = `keyflow-run-${process.getuid!()}`
  const left = readdirSync(tmp).filter((name) => name !== stash)
  if (existsSync(join(tmp, stash))) {
    for (const name of readdirSync(join(tmp, stash))) {
      if (!name.startsWith('ready-') || !lstatSync(join(tmp, stash, name)).isFIFO()) left.push(`${stash}/${name}`)
    }
  }

  return left
}
