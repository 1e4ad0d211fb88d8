import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

/**
 * Canary secret values: distinctive, random per run, so a leak can be searched for in every
 * stream and file keyflow touches. Assertions report where a canary leaked, never the value.
 */
export function canary(label = 'secret'): string {
  return `kfcanary-${label}-${randomBytes(9).toString('hex')}`
}

function describe(haystack: string, needle: string): string | undefined {
  const index = haystack.indexOf(needle)
  return index === -1 ? undefined : `at offset ${index}`
}

/** Throws if any canary occurs in `text`; the message says where, not what. */
export function assertNoCanary(text: Buffer | string, canaries: string[], where: string): void {
  const haystack = typeof text === 'string' ? text : text.toString('latin1')
  for (const [index, value] of canaries.entries()) {
    const found = describe(haystack, value) ?? describe(haystack, Buffer.from(value).toString('base64'))
    if (found) throw new Error(`canary #${index} leaked into ${where} ${found}`)
  }
}

/** Scans every regular file under `dir`. `allow` names files that may hold a value (none by default). */
export function assertNoCanaryInTree(dir: string, canaries: string[], allow: (path: string) => boolean = () => false): void {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) assertNoCanaryInTree(path, canaries, allow)
    else if (entry.isFile() && !allow(path) && statSync(path).size < 64 * 1024 * 1024) {
      assertNoCanary(readFileSync(path), canaries, `file ${path}`)
    }
  }
}
