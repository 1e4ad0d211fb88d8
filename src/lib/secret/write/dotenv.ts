import {basename, dirname, join} from 'node:path'

import {ExitCode, KeyflowError} from '../../errors.js'
import {warn} from '../../output/warn.js'
import {writeFileAtomic} from '../../util/fs-atomic.js'
import {withLock} from '../../util/lock.js'
import {checkTrustedDir, readTrustedFile, Refusal} from '../../util/trusted-file.js'
import {envFileText, scanDotenv} from '../sources/dotenv.js'
import {removeEntry, setEntry} from './dotenv-edit.js'
import {withJsonKey} from './json-key.js'

/**
 * Writes to a dotenv file: set or remove one name, under a lock, atomically, 0600. Before
 * anything is written the new text is read back with dotenv.parse and must give the new value
 * for the name and exactly the old values for every other name.
 *
 * The file is read through the trusted-file reader (O_NOFOLLOW, fstat of the descriptor: a
 * regular file, the user's, not group/other-writable) in a directory everyone cannot write
 * (/tmp lets another user replace the file between two commands). The new content goes to a
 * 0600 temporary file in the same directory, is fsynced and renamed over the old one, and the
 * directory is fsynced: a reader sees the old file or the new one, never a mix, and a crash
 * leaves the old one.
 */

type Parse = (text: string) => Record<string, string>

export const DOTENV_NAME = /^[\w.-]+$/

const BOM = '\uFEFF'

export interface DotenvWrite {
  /** The line the name is now read from (1-based). */
  line: number
  status: 'created' | 'updated'
}

interface OwnedFile {
  bytes: Buffer
  /** Permission bits of the file as it was. */
  mode: number
}

const FILE_FIX: Partial<Record<Refusal['kind'], string>> = {
  link: 'Write to the file it points to instead (--to dotenv=REAL_PATH), or replace the link with a regular file.',
  owner: 'Write to a file you own, or have its owner move it.',
}

function readOwnedFile(path: string): OwnedFile | undefined {
  const file = readTrustedFile(path, {
    refuse: (refusal) =>
      new KeyflowError(`The file is ${refusal.problem}; keyflow will not write secrets to it.`, {
        code: 'FILE_UNTRUSTED',
        exit: ExitCode.INTEGRITY,
        fix: FILE_FIX[refusal.kind] ?? (refusal.kind === 'mode' ? `Make it private first: chmod 600 ${path}` : refusal.fix),
        where: path,
      }),
    unreadable: (reason) => new KeyflowError(`Cannot read the file: ${reason}.`, {code: 'FILE_UNREADABLE', exit: ExitCode.SOURCE_FAILURE, fix: 'Check the path and its permissions.', where: path}),
    what: 'file',
  })
  // eslint-disable-next-line no-bitwise -- permission bits
  return file && {bytes: file.bytes, mode: file.stats.mode & 0o777}
}

function checkDirectory(dir: string): void {
  const exists = checkTrustedDir(dir, {
    followLink: true,
    groupMayWrite: true,
    refuse: (refusal) =>
      refusal.kind === 'type'
        ? unusable(dir, refusal.problem)
        : new KeyflowError(`The directory is ${refusal.problem}; keyflow will not keep secrets in it.`, {
            code: 'DIRECTORY_UNTRUSTED',
            exit: ExitCode.INTEGRITY,
            fix: 'Keep the file in a directory only you can write, e.g. the default $KEYFLOW_HOME/secrets.env.',
            where: dir,
          }),
    unreadable: (reason) => unusable(dir, reason),
    what: 'directory',
  })
  if (!exists) throw unusable(dir, 'no such file')
}

function unusable(dir: string, reason: string): KeyflowError {
  return new KeyflowError(`Cannot use the directory: ${reason}.`, {code: 'DIRECTORY_UNUSABLE', exit: ExitCode.SOURCE_FAILURE, fix: 'Create the directory first, or name a file in an existing one.', where: dir})
}

/**
 * Runs `edit` on the file's current content (undefined when it does not exist) under a lock
 * that keyflow's other writers of the same file honour, and writes the content it returns, if
 * any, as 0600.
 */
async function rewriteOwnedFile<T>(path: string, edit: (current: OwnedFile | undefined) => Promise<{content?: string; result: T}>): Promise<T> {
  const dir = dirname(path)
  checkDirectory(dir)
  return withLock(join(dir, `.${basename(path)}.keyflow-lock`), `file ${path}`, async () => {
    const {content, result} = await edit(readOwnedFile(path))
    if (content !== undefined) await writeFileAtomic(path, content)
    return result
  })
}

function currentText(current: OwnedFile | undefined, file: string): {bom: string; text: string} {
  if (!current) return {bom: '', text: ''}
  const text = envFileText(current.bytes, file)
  return {bom: current.bytes.subarray(0, 3).equals(Buffer.from(BOM)) ? BOM : '', text}
}

function checkRewrite(parse: Parse, file: string, change: {before: Record<string, string>; name: string; next: string; value?: string}): void {
  const {before, name, next, value} = change
  const unsafe = () =>
    new KeyflowError('The env file cannot be rewritten without changing how another entry reads; nothing was written.', {
      code: 'ENV_FILE_REWRITE_UNSAFE',
      exit: ExitCode.BAD_VALUE,
      fix: 'Edit the file by hand, or store this secret in AWS (--to aws).',
      where: file,
    })
  try {
    envFileText(Buffer.from(next), file)
  } catch {
    throw unsafe()
  }

  const after = parse(next)
  const expected: Record<string, string> = {...before}
  if (value === undefined) delete expected[name]
  else expected[name] = value
  const keys = Object.keys(expected)
  if (keys.length !== Object.keys(after).length || keys.some((key) => !Object.hasOwn(after, key) || after[key] !== expected[key])) throw unsafe()
}

function warnIfWasOpen(current: OwnedFile | undefined, file: string): void {
  // eslint-disable-next-line no-bitwise -- permission bits
  if (current && (current.mode & 0o077) !== 0) warn(`${file} was readable by others (mode ${current.mode.toString(8)}); it is now 0600.`)
}

export async function setDotenvSecret(file: string, name: string, path: string[], value: string, label: string): Promise<DotenvWrite> {
  const {parse} = await import('dotenv')
  return rewriteOwnedFile(file, async (current) => {
    const {bom, text} = currentText(current, file)
    const before = parse(text)
    const existing = Object.hasOwn(before, name) ? before[name] : undefined
    const newValue = path.length > 0 ? withJsonKey(existing, path, value, label) : value
    let next: string
    try {
      next = setEntry(text, name, newValue)
    } catch (error) {
      if (!(error instanceof KeyflowError) || error.code !== 'VALUE_NOT_REPRESENTABLE') throw error
      throw new KeyflowError(`The value holds characters that dotenv syntax cannot express together; nothing was written.`, {
        code: 'VALUE_NOT_REPRESENTABLE',
        exit: ExitCode.BAD_VALUE,
        fix: 'Store it in AWS (--to aws), or store it encoded (e.g. base64) and decode it where it is used.',
        where: file,
      })
    }

    checkRewrite(parse, file, {before, name, next, value: newValue})
    warnIfWasOpen(current, file)
    const line = scanDotenv(next).findLast((entry) => entry.name === name)!.firstLine + 1
    return {content: bom + next, result: {line, status: existing === undefined ? 'created' : 'updated'}}
  })
}

export async function removeDotenvSecret(file: string, name: string): Promise<{removed: number}> {
  const {parse} = await import('dotenv')
  return rewriteOwnedFile(file, async (current) => {
    const {bom, text} = currentText(current, file)
    const {removed, text: next} = removeEntry(text, name)
    if (removed === 0) {
      throw new KeyflowError(`${name} is not in the env file.`, {
        code: 'SECRET_NOT_FOUND',
        exit: ExitCode.NOT_FOUND,
        fix: '`keyflow secret ls --sources dotenv` lists the names each env file holds.',
        where: file,
      })
    }

    checkRewrite(parse, file, {before: parse(text), name, next})
    warnIfWasOpen(current, file)
    return {content: bom + next, result: {removed}}
  })
}
