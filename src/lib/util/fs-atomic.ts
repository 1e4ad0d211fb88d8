import {basename, dirname, join} from 'node:path'

import {builtin, nodeCrypto} from './builtin.js'

/**
 * node:fs/promises, loaded by the first write: it brings node:readline and the fs watchers with
 * it (about 1.4 ms), and a reader of the stores and the cache (a cache hit) writes nothing.
 */
const fsPromises = () => builtin<typeof import('node:fs/promises')>('node:fs/promises')

/** A temporary name next to `path`, unique across processes. */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`)
}

const TEMPORARY = /^\..+\.\d+\.[\da-f]{12}\.tmp$/

/**
 * Removes the temporaries of writes that never finished (a full disk, a kill) from `dir`.
 * Only safe where every write happens under one lock, which the caller holds: then no
 * temporary there belongs to a write still under way.
 */
export async function removeLeftovers(dir: string): Promise<void> {
  const {readdir, unlink} = fsPromises()
  const names = await readdir(dir).catch(() => [])
  await Promise.all(names.filter((name) => TEMPORARY.test(name)).map((name) => unlink(join(dir, name)).catch(() => {})))
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsPromises().open(dir, 'r')
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
  const {chmod, open, rename, unlink} = fsPromises()
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
  await fsPromises().unlink(path)
  await fsyncDir(dirname(path))
}
