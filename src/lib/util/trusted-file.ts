import {closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, Stats, statSync} from 'node:fs'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../errors.js'

/**
 * The one way keyflow reads a file or enters a directory it takes decisions or secrets from
 * (keyflow.json, config.json, dotenv files, the master key, block store records), so that no
 * other local user can steer it (README "Security model", trusted-path rules):
 *
 * - A file is opened once, without following a symbolic link unless the user named that very
 *   path, and without blocking on a FIFO; what was opened is checked with fstat (a regular
 *   file, owned by the user or root, not writable by group or others) and read through that
 *   same descriptor. Checking a name and then opening it again is a race another user wins by
 *   swapping a link between the two.
 * - A directory is checked the same way (lstat: a real directory, owned by the user or root,
 *   not writable by group or others). Inside such a directory only the user can add, rename or
 *   remove entries, so what it holds cannot change under keyflow's feet by anyone else.
 */

export interface TrustedFileOptions {
  /**
   * Follow a symbolic link at `path` itself, if the link is the user's (or root's): for a path
   * the user named, and for ./.env, which monorepos link to a shared file.
   */
  followLink?: boolean
  /** Also refuse a file group or others may read (a private key). */
  secret?: boolean
  /** The error for a file that exists but cannot be read, given why ("permission denied"); default INTEGRITY. */
  unreadable?: (reason: string) => KeyflowError
  /** What the file is, for messages: "project file". */
  what: string
}

export interface TrustedFile {
  bytes: Buffer
  stats: Stats
}

// eslint-disable-next-line no-bitwise -- open(2) flags
const NO_FOLLOW = constants.O_NOFOLLOW | constants.O_NONBLOCK

const ownUid = (): number | undefined => process.getuid?.()

function untrusted(message: string, path: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'UNTRUSTED_PATH', exit: ExitCode.INTEGRITY, fix, where: path})
}

/** Why `stats` may not be trusted, or undefined: the ownership and permission rule, in one place. */
function distrust(stats: Stats, secret: boolean): string | undefined {
  const uid = ownUid()
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) return `owned by another user (uid ${stats.uid})`
  // eslint-disable-next-line no-bitwise -- permission bits
  if ((stats.mode & 0o022) !== 0) return `writable by group or others (mode ${(stats.mode & 0o777).toString(8)})`
  // eslint-disable-next-line no-bitwise -- permission bits
  if (secret && (stats.mode & 0o077) !== 0) return `accessible by group or others (mode ${(stats.mode & 0o777).toString(8)})`
  return undefined
}

function fixFor(problem: string, path: string, kind: 'directory' | 'file', secret: boolean): string {
  if (problem.startsWith('owned')) return `Remove it or take it over: keyflow uses only ${kind === 'file' ? 'files' : 'directories'} you own (sudo chown "$(id -u)" ${path}).`
  return `Make it private: chmod ${secret ? '600' : kind === 'file' ? 'go-w' : '700'} ${path}`
}

/**
 * Reads a trusted file; undefined when it does not exist. Every other failure, a link where
 * none is followed, or a file another user could have written is an INTEGRITY error.
 */
export function readTrustedFile(path: string, options: TrustedFileOptions): TrustedFile | undefined {
  const unreadable =
    options.unreadable ??
    ((reason: string) =>
      new KeyflowError(`Cannot read the ${options.what}: ${reason}.`, {code: 'FILE_UNREADABLE', exit: ExitCode.INTEGRITY, fix: 'Check the file and its permissions.', where: path}))
  if (options.followLink) checkLinkOwner(path, options.what)
  let fd: number
  try {
    // eslint-disable-next-line no-bitwise -- open(2) flags
    fd = openSync(path, constants.O_RDONLY | (options.followLink ? constants.O_NONBLOCK : NO_FOLLOW))
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    if (errnoCode(error) === 'ELOOP') {
      throw untrusted(
        `The ${options.what} is a symbolic link; keyflow does not follow links here.`,
        path,
        'Replace the link with the file itself, or name the target explicitly where keyflow allows it.',
      )
    }

    throw unreadable(describeFsError(error))
  }

  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw unreadable(stats.isDirectory() ? 'is a directory' : 'not a regular file')
    const problem = distrust(stats, options.secret ?? false)
    if (problem) throw untrusted(`The ${options.what} is ${problem}; keyflow will not trust it.`, path, fixFor(problem, path, 'file', options.secret ?? false))
    return {bytes: readFileSync(fd), stats}
  } catch (error) {
    if (error instanceof KeyflowError) throw error
    throw unreadable(describeFsError(error))
  } finally {
    closeSync(fd)
  }
}

/**
 * A link another user owns is theirs to point anywhere; one the user owns may be followed, as
 * its target is then checked through the descriptor like any file.
 */
function checkLinkOwner(path: string, what: string): void {
  const stats = lstatSync(path, {throwIfNoEntry: false})
  const uid = ownUid()
  if (stats?.isSymbolicLink() && uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
    throw untrusted(`The ${what} is a symbolic link owned by another user (uid ${stats.uid}); keyflow will not follow it.`, path, 'Remove the link, or point keyflow at a file you own.')
  }
}

export interface TrustedDirOptions {
  /** Accept a symbolic link at `path` itself, as for files: for KEYFLOW_HOME, which users may link elsewhere. */
  followLink?: boolean
  what: string
}

/**
 * Checks a directory keyflow keeps private data in; false when it does not exist (the caller
 * creates it 0700). A link (unless allowed), a non-directory, another user's directory or one
 * group or others may write is an INTEGRITY error saying how to fix it.
 */
export function checkTrustedDir(path: string, options: TrustedDirOptions): boolean {
  if (options.followLink) checkLinkOwner(path, options.what)
  let stats: Stats
  try {
    stats = options.followLink ? statSync(path) : lstatSync(path)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false
    throw new KeyflowError(`Cannot open the ${options.what}: ${describeFsError(error)}.`, {
      code: 'DIR_UNREADABLE',
      exit: ExitCode.INTEGRITY,
      fix: 'Check the directory and its permissions.',
      where: path,
    })
  }

  if (stats.isSymbolicLink()) {
    throw untrusted(`The ${options.what} is a symbolic link; keyflow does not follow links here.`, path, 'Replace the link with the directory itself.')
  }

  if (!stats.isDirectory()) throw untrusted(`The ${options.what} is not a directory.`, path, 'Move the file away; keyflow creates the directory.')
  const problem = distrust(stats, false)
  if (problem) throw untrusted(`The ${options.what} is ${problem}; keyflow will not use it.`, path, fixFor(problem, path, 'directory', false))
  return true
}

/** Checks a directory as checkTrustedDir does, creating it (and missing parents) 0700 when absent. */
export function ensureTrustedDir(path: string, options: TrustedDirOptions): void {
  if (checkTrustedDir(path, options)) return
  mkdirSync(path, {mode: 0o700, recursive: true})
  checkTrustedDir(path, options)
}
