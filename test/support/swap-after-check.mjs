/**
 * Preloaded with --import into a keyflow run, it plays an attacker with perfect timing:
 * right after keyflow's first stat or fstat of SWAP_TARGET (the check of what it is about to
 * read), SWAP_SOURCE is renamed over SWAP_TARGET. A reader that checks one thing and then
 * reads another (a name opened again) gets the attacker's file; one that reads through the
 * descriptor it checked does not. Deterministic: no loop, no timing.
 */
import fs from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'

const target = process.env.SWAP_TARGET
const source = process.env.SWAP_SOURCE
let swapped = false

const refersToTarget = (pathOrFd) => {
  try {
    return typeof pathOrFd === 'number' ? fs.readlinkSync(`/proc/self/fd/${pathOrFd}`) === target : String(pathOrFd) === target
  } catch {
    return false
  }
}

for (const name of ['statSync', 'fstatSync']) {
  const original = fs[name]
  fs[name] = function (pathOrFd, ...rest) {
    const result = original.call(this, pathOrFd, ...rest)
    if (!swapped && refersToTarget(pathOrFd)) {
      swapped = true
      fs.renameSync(source, target)
    }

    return result
  }
}

syncBuiltinESMExports()
