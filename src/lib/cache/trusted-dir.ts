import {closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync} from 'node:fs'

import {errnoCode, ExitCode, KeyflowError} from '../errors.js'

/**
 * The cache's checks on what it opens, made on the opened descriptor (fstat), never on a name
 * that may have been swapped a moment earlier. A stand-in, kept to these two functions so it
 * can be swapped for the shared trusted-file module (O_NOFOLLOW + fstat) when that lands.
 */

/* eslint-disable no-bitwise -- open flags and permission bits */

const uid = () => process.getuid?.()

function untrusted(dir: string, why: string, fix: string): KeyflowError {
  return new KeyflowError(`The cache directory ${why}; keyflow will not use it.`, {code: 'CACHE_UNTRUSTED', exit: ExitCode.INTEGRITY, fix, where: dir})
}

/**
 * Creates the cache directory 0700 if missing, then refuses it (exit 8) unless it is a real
 * directory (not a symlink) owned by this user that group and others cannot write: another
 * user who could write it could plant entries or swap them for links.
 */
export function checkTrustedDir(dir: string): void {
  mkdirSync(dir, {mode: 0o700, recursive: true})
  let fd: number
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  } catch (error) {
    const code = errnoCode(error)
    throw code === 'ELOOP' || code === 'ENOTDIR'
      ? untrusted(dir, 'is a symbolic link or not a directory', `Remove it; keyflow creates ${dir} itself.`)
      : untrusted(dir, `cannot be opened (${code ?? 'error'})`, 'Check the directory and its permissions.')
  }

  try {
    const stats = fstatSync(fd)
    if (uid() !== undefined && stats.uid !== uid()) throw untrusted(dir, 'is owned by another user', `Remove it (keyflow recreates it), or set KEYFLOW_HOME to a directory you own.`)
    if ((stats.mode & 0o022) !== 0) throw untrusted(dir, `is writable by group or others (mode ${(stats.mode & 0o777).toString(8)})`, `Make it private: chmod 700 ${dir}`)
  } finally {
    closeSync(fd)
  }
}

/** A file's bytes, if it is a regular file this user owns (not a link); anything else reads as absent. */
export function readOwnFile(path: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch {
    return undefined
  }

  try {
    const stats = fstatSync(fd)
    if (!stats.isFile() || (uid() !== undefined && stats.uid !== uid())) return undefined
    return readFileSync(fd)
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}
