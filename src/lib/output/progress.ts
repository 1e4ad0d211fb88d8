import {style} from './style.js'

/**
 * A notice on stderr when a remote call keeps a person waiting: once per process, after about
 * a second, and only when stderr is a terminal (a script reading stderr gets no such noise;
 * stdout never gets it). One line, not a spinner: it cannot garble what comes after it.
 */

const NOTICE_AFTER_MS = 1000
let shown = false

export async function noticeIfSlow<T>(work: Promise<T>, message: () => string, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  if (shown || !stream.isTTY) return work
  const timer = setTimeout(() => {
    if (shown) return
    shown = true
    stream.write(`${style.dim(message())}\n`)
  }, NOTICE_AFTER_MS)
  timer.unref()
  try {
    return await work
  } finally {
    clearTimeout(timer)
  }
}
