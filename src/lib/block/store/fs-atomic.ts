import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {chmod, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

/** Creates `dir` and its missing parents as 0700. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, {mode: 0o700, recursive: true})
}

/** A temporary name next to `path`, unique across processes. */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces `path` with `content` so that a reader sees the old file or the new one, never a
 * mix, and a crash or a full disk leaves the old one: write a temporary file (0600), fsync it,
 * rename it over the target, fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temporary = tempPath(path)
  try {
    const handle = await open(temporary, 'wx', 0o600)
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }

    await chmod(temporary, 0o600)
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }

  await fsyncDir(dirname(path))
}

export async function removeDurably(path: string): Promise<void> {
  await unlink(path)
  await fsyncDir(dirname(path))
}
