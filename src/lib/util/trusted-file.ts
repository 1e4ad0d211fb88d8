import {closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, Stats} from 'node:fs'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../errors.js'

/**
 * The one way keyflow reads a file or enters a directory it takes decisions or secrets from
 * (keyflow.json, config.json, dotenv files read or rewritten, the master key, block store
 * records, cache entries), so that no other local user can steer it (README "Security model",
 * trusted-path rules). Callers choose only how a refusal is worded for their domain (`refuse`):
 *
 * - A file is opened once, without following a symbolic link unless the user named that very
 *   path, and without blocking on a FIFO; what was opened is checked with fstat (a regular
 *   file, owned by the user or root, not writable by group or others) and read through that
 *   same descriptor. Checking a name and then opening it again is a race another user wins by
 *   swapping a link between the two.
 * - A directory is checked the same way (opened without following a link, then fstat: a real
 *   directory, owned by the user or root, not writable by group or others; `groupMayWrite`
 *   relaxes the last to "not by everyone"). Inside such a directory only the user can add,
 *   rename or remove entries, so what it holds cannot change under keyflow's feet.
 */

/** Why keyflow refuses a path: given to a caller's `refuse`, which words the error for its domain. */
export interface Refusal {
  /** The default fix, naming the path. */
  fix: string
  kind: 'link' | 'mode' | 'owner' | 'type'
  /** The other user, when another user owns the path. */
  owner?: number
  /** What is wrong, as words after "is": "a symbolic link", "writable by group or others (mode 777)". */
  problem: string
}

interface TrustOptions {
  /**
   * Follow a symbolic link at `path` itself, if the link is the user's (or root's): for a path
   * the user named, for ./.env, which monorepos link to a shared file, and for KEYFLOW_HOME.
   */
  followLink?: boolean
  /** The error for a path keyflow will not trust; by default an UNTRUSTED_PATH error (exit 8). */
  refuse?: (refusal: Refusal) => KeyflowError
  /** The error for a path that exists but cannot be opened, given why ("permission denied"); default exit 8. */
  unreadable?: (reason: string) => KeyflowError
  /** What the path is, for messages: "project file". */
  what: string
}

export interface TrustedFileOptions extends TrustOptions {
  /** Also refuse a file group or others may read (a private key). */
  secret?: boolean
}

export interface TrustedFile {
  bytes: Buffer
  stats: Stats
}

export interface TrustedDirOptions extends TrustOptions {
  /**
   * Accept a directory its group may write, refusing only one everyone may write (/tmp): for a
   * project directory a team shares through its group, where a dotenv file is written.
   */
  groupMayWrite?: boolean
}

// eslint-disable-next-line no-bitwise -- open(2) flags
const NO_FOLLOW = constants.O_NOFOLLOW | constants.O_NONBLOCK

const ownUid = (): number | undefined => process.getuid?.()

/** Why `stats` may not be trusted, or undefined: the ownership and permission rule, in one place. */
function distrust(stats: Stats, path: string, rule: {groupMayWrite?: boolean; kind: 'directory' | 'file'; secret?: boolean}): Refusal | undefined {
  const uid = ownUid()
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
    const fix = `Remove it or take it over: keyflow uses only ${rule.kind === 'file' ? 'files' : 'directories'} you own (sudo chown "$(id -u)" ${path}).`
    return {fix, kind: 'owner', owner: stats.uid, problem: 'owned by another user'}
  }

  const mode = (stats.mode & 0o777).toString(8) // eslint-disable-line no-bitwise -- permission bits
  const fix = `Make it private: chmod ${rule.secret ? '600' : rule.kind === 'file' ? 'go-w' : '700'} ${path}`
  // eslint-disable-next-line no-bitwise -- permission bits
  if ((stats.mode & (rule.groupMayWrite ? 0o002 : 0o022)) !== 0) {
    return {fix, kind: 'mode', problem: `writable by ${rule.groupMayWrite ? 'everyone' : 'group or others'} (mode ${mode})`}
  }

  // eslint-disable-next-line no-bitwise -- permission bits
  if (rule.secret && (stats.mode & 0o077) !== 0) return {fix, kind: 'mode', problem: `accessible by group or others (mode ${mode})`}
  return undefined
}

const ownerText = (refusal: Refusal) => (refusal.owner === undefined ? refusal.problem : `${refusal.problem} (uid ${refusal.owner})`)

function untrusted(message: string, path: string, fix: string): KeyflowError {
  return new KeyflowError(message, {code: 'UNTRUSTED_PATH', exit: ExitCode.INTEGRITY, fix, where: path})
}

/**
 * Reads a trusted file; undefined when it does not exist. Every other failure, a link where
 * none is followed, or a file another user could have written is an error (exit 8 unless the
 * caller's `refuse` or `unreadable` says otherwise).
 */
export function readTrustedFile(path: string, options: TrustedFileOptions): TrustedFile | undefined {
  const unreadable =
    options.unreadable ??
    ((reason: string) =>
      new KeyflowError(`Cannot read the ${options.what}: ${reason}.`, {code: 'FILE_UNREADABLE', exit: ExitCode.INTEGRITY, fix: 'Check the file and its permissions.', where: path}))
  const refuse =
    options.refuse ??
    ((refusal: Refusal) => {
      if (refusal.kind === 'type') return unreadable(`is ${refusal.problem}`)
      if (refusal.kind === 'link') return untrusted(`The ${options.what} is a symbolic link; keyflow does not follow links here.`, path, refusal.fix)
      return untrusted(`The ${options.what} is ${ownerText(refusal)}; keyflow will not trust it.`, path, refusal.fix)
    })
  if (options.followLink) checkLinkOwner(path, options.what)
  let fd: number
  try {
    // eslint-disable-next-line no-bitwise -- open(2) flags
    fd = openSync(path, constants.O_RDONLY | (options.followLink ? constants.O_NONBLOCK : NO_FOLLOW))
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    if (errnoCode(error) === 'ELOOP') {
      throw refuse({fix: 'Replace the link with the file itself, or name the target explicitly where keyflow allows it.', kind: 'link', problem: 'a symbolic link'})
    }

    throw unreadable(describeFsError(error))
  }

  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw refuse({fix: 'Name a regular file.', kind: 'type', problem: stats.isDirectory() ? 'a directory' : 'not a regular file'})
    const refusal = distrust(stats, path, {kind: 'file', secret: options.secret})
    if (refusal) throw refuse(refusal)
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

/**
 * Checks a directory keyflow keeps private data in; false when it does not exist (the caller
 * creates it 0700). A link (unless allowed), a non-directory, another user's directory or one
 * group or others may write is an error (exit 8) saying how to fix it.
 */
export function checkTrustedDir(path: string, options: TrustedDirOptions): boolean {
  const refuse =
    options.refuse ??
    ((refusal: Refusal) => {
      if (refusal.kind === 'link') return untrusted(`The ${options.what} is a symbolic link; keyflow does not follow links here.`, path, refusal.fix)
      if (refusal.kind === 'type') return untrusted(`The ${options.what} is ${refusal.problem}.`, path, refusal.fix)
      return untrusted(`The ${options.what} is ${ownerText(refusal)}; keyflow will not use it.`, path, refusal.fix)
    })
  if (options.followLink) checkLinkOwner(path, options.what)
  let fd: number
  try {
    // eslint-disable-next-line no-bitwise -- open(2) flags
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | (options.followLink ? 0 : constants.O_NOFOLLOW))
  } catch (error) {
    const code = errnoCode(error)
    if (code === 'ENOENT') return false
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      throw lstatSync(path, {throwIfNoEntry: false})?.isSymbolicLink() && !options.followLink
        ? refuse({fix: 'Replace the link with the directory itself.', kind: 'link', problem: 'a symbolic link'})
        : refuse({fix: 'Move the file away; keyflow creates the directory.', kind: 'type', problem: 'not a directory'})
    }

    throw (
      options.unreadable?.(describeFsError(error)) ??
      new KeyflowError(`Cannot open the ${options.what}: ${describeFsError(error)}.`, {
        code: 'DIR_UNREADABLE',
        exit: ExitCode.INTEGRITY,
        fix: 'Check the directory and its permissions.',
        where: path,
      })
    )
  }

  let stats: Stats
  try {
    stats = fstatSync(fd)
  } finally {
    closeSync(fd)
  }

  const refusal = distrust(stats, path, {groupMayWrite: options.groupMayWrite, kind: 'directory'})
  if (refusal) throw refuse(refusal)
  return true
}

/** Checks a directory as checkTrustedDir does, creating it (and missing parents) 0700 when absent. */
export function ensureTrustedDir(path: string, options: TrustedDirOptions): void {
  if (checkTrustedDir(path, options)) return
  mkdirSync(path, {mode: 0o700, recursive: true})
  checkTrustedDir(path, options)
}
