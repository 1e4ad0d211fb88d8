import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Another local user, for attacks across users: the tests run as root, and every step the
 * attacker takes runs under setpriv as `nobody`, a real other uid, so ownership and
 * permission checks meet exactly what they would on a shared machine.
 */

export const OTHER = {gid: 65_534, name: 'nobody', uid: 65_534}

/** Runs a shell script as the other user; throws with its stderr when it fails. */
export function asOther(script: string): string {
  return execFileSync('setpriv', [`--reuid=${OTHER.uid}`, `--regid=${OTHER.gid}`, '--clear-groups', 'sh', '-c', script], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
}

/**
 * A scratch area both users can reach (0755, ours), and inside it a directory the other user
 * owns (0755): the kind of place (/tmp/build, a shared checkout) the attacks start from.
 */
export function sharedArea(): {attacker: string; cleanup: () => void; root: string} {
  const root = mkdtempSync(join(tmpdir(), 'keyflow-trust-'))
  chmodSync(root, 0o755)
  const attacker = join(root, 'attacker')
  mkdirSync(attacker, {mode: 0o755})
  chownSync(attacker, OTHER.uid, OTHER.gid)
  return {attacker, cleanup: () => rmSync(root, {force: true, recursive: true}), root}
}
