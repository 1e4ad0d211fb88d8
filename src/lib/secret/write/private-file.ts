import {constants, statSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {writeFileAtomic} from '../../block/store/fs-atomic.js'
import {withLock} from '../../block/store/lock.js'
import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../../errors.js'

/**
 * The one place a secrets file outside the block store is read for rewriting and replaced.
 * keyflow checks what it opened (fstat of the descriptor), not what the name pointed to a
 * moment earlier: a symlink is refused at open (O_NOFOLLOW), as is anything that is not a
 * regular file or that another user owns or may write. The new content goes to a 0600
 * temporary file in the same directory, is fsynced and renamed over the old one, and the
 * directory is fsynced: a reader sees the old file or the new one, never a mix, and a crash
 * leaves the old one.
 */

export interface OwnedFile {
  bytes: Buffer
  /** Permission bits of the file as it was. */
  mode: number
}

function untrusted(path: string, problem: string, fix: string): KeyflowError {
  return new KeyflowError(`The file ${problem}; keyflow will not write secrets to it.`, {code: 'FILE_UNTRUSTED', exit: ExitCode.INTEGRITY, fix, where: path})
}

const uid = () => process.getuid?.()

/** The file's bytes, or undefined when it does not exist yet. */
export async function readOwnedFile(path: string): Promise<OwnedFile | undefined> {
  let handle
  try {
    // O_NONBLOCK: opening a FIFO someone left in its place must not hang; fstat refuses it next.
    // eslint-disable-next-line no-bitwise -- open flags
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    if (errnoCode(error) === 'ELOOP') throw untrusted(path, 'is a symbolic link', `Write to the file it points to instead (--to dotenv=REAL_PATH), or replace the link with a regular file.`)
    throw new KeyflowError(`Cannot read the file: ${describeFsError(error)}.`, {code: 'FILE_UNREADABLE', exit: ExitCode.SOURCE_FAILURE, fix: 'Check the path and its permissions.', where: path})
  }

  try {
    const stats = await handle.stat()
    if (!stats.isFile()) throw untrusted(path, 'is not a regular file', 'Name a regular file.')
    if (uid() !== undefined && stats.uid !== uid()) throw untrusted(path, 'is owned by another user', 'Write to a file you own, or have its owner move it.')
    // eslint-disable-next-line no-bitwise -- permission bits
    if ((stats.mode & 0o022) !== 0) throw untrusted(path, 'is writable by group or others', `Make it private first: chmod 600 ${path}`)
    // eslint-disable-next-line no-bitwise -- permission bits
    return {bytes: await handle.readFile(), mode: stats.mode & 0o777}
  } finally {
    await handle.close()
  }
}

/**
 * A directory anyone may write (/tmp) lets another user replace the file between two
 * commands, and one another user owns is theirs to change: neither holds secrets.
 */
function checkDirectory(dir: string): void {
  let stats
  try {
    stats = statSync(dir)
  } catch (error) {
    throw new KeyflowError(`Cannot use the directory: ${describeFsError(error)}.`, {code: 'DIRECTORY_UNUSABLE', exit: ExitCode.SOURCE_FAILURE, fix: 'Create the directory first, or name a file in an existing one.', where: dir})
  }

  const foreign = uid() !== undefined && stats.uid !== uid() && stats.uid !== 0
  // eslint-disable-next-line no-bitwise -- permission bits
  if (foreign || (stats.mode & 0o002) !== 0) {
    throw new KeyflowError(`The directory is ${foreign ? 'owned by another user' : 'writable by everyone'}; keyflow will not keep secrets in it.`, {
      code: 'DIRECTORY_UNTRUSTED',
      exit: ExitCode.INTEGRITY,
      fix: 'Keep the file in a directory only you can write, e.g. the default $KEYFLOW_HOME/secrets.env.',
      where: dir,
    })
  }
}

/**
 * Runs `edit` on the file's current content (undefined when it does not exist) under a lock
 * that keyflow's other writers of the same file honour, and writes the content it returns, if
 * any, as 0600.
 */
export async function rewriteOwnedFile<T>(path: string, edit: (current: OwnedFile | undefined) => Promise<{content?: string; result: T}>): Promise<T> {
  const dir = dirname(path)
  checkDirectory(dir)
  return withLock(join(dir, `.${basename(path)}.keyflow-lock`), `file ${path}`, async () => {
    const {content, result} = await edit(await readOwnedFile(path))
    if (content !== undefined) await writeFileAtomic(path, content)
    return result
  })
}
