import type {Interfaces} from '@oclif/core'

import {ExitCode, KeyflowError} from '../errors.js'

/**
 * What keyflow says about a command line that names no command. oclif hands over every word
 * it could not place, joined into one id (`secret set FOO hunter2` arrives as
 * `secret:set:FOO:hunter2`), and the words after the unknown one may be anything the user
 * typed, a secret value included: only the known topic words and the one unknown word are
 * ever repeated. The rest is used, in memory, to pick the nearest command.
 */

export interface CommandVocabulary {
  /** Every visible command id and alias, words joined by ':'. */
  commands: string[]
  /** Flags that stand alone at the top level, e.g. --version. */
  rootFlags: string[]
  /** Every topic name, words joined by ':'. */
  topics: string[]
}

export function vocabularyOf(config: Interfaces.Config): CommandVocabulary {
  return {
    commands: config.commands.filter((command) => !command.hidden).flatMap((command) => [command.id, ...command.aliases]),
    rootFlags: ['--help', '--version'],
    topics: config.topics.filter((topic) => !topic.hidden).map((topic) => topic.name),
  }
}

export function unknownCommandError(bin: string, vocabulary: CommandVocabulary, id: string): KeyflowError {
  const words = id.split(':')
  const topics = new Set(vocabulary.topics)
  let known = 0
  while (known < words.length - 1 && topics.has(words.slice(0, known + 1).join(':'))) known++
  const typed = words.slice(0, known + 1).join(' ')
  const topic = words.slice(0, known).join(' ')
  // Only what goes beyond the words already right: `secret gte` means a secret command, not the topic.
  const candidates = [...vocabulary.commands, ...vocabulary.topics, ...vocabulary.rootFlags].filter((candidate) => candidate.split(':').length > known)
  const suggestion = nearest(words, candidates)
  const list = topic ? `\`${bin} help ${topic}\` lists the ${topic} commands` : `\`${bin} help\` lists the commands`
  return new KeyflowError(`\`${bin} ${typed}\` is not a ${bin} ${typed.startsWith('-') ? 'flag' : 'command'}.`, {
    code: 'UNKNOWN_COMMAND',
    exit: ExitCode.USAGE,
    fix: suggestion ? `Did you mean \`${bin} ${suggestion.replaceAll(':', ' ')}\`? ${capitalise(list)}.` : `${capitalise(list)}.`,
  })
}

/**
 * The candidate closest to the words typed, each compared with as many words as it has, or
 * undefined when nothing is close enough to be a likely typo (about one edit in three letters).
 */
function nearest(words: string[], candidates: string[]): string | undefined {
  let best: undefined | {distance: number; id: string}
  for (const id of candidates) {
    const typed = words.slice(0, id.split(':').length).join(':')
    const distance = editDistance(typed, id)
    if (distance > Math.max(1, Math.floor(id.length / 3))) continue
    if (!best || distance < best.distance) best = {distance, id}
  }

  return best?.id
}

/** Levenshtein distance counting a swap of two adjacent letters as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = rows[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, substitution)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }

  return rows[a.length][b.length]
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** --json (or KEYFLOW_CONTENT_TYPE=json) among the words before `--`, as commands read it. */
export function wantsJson(words: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const end = words.indexOf('--')
  return (end === -1 ? words : words.slice(0, end)).includes('--json') || env.KEYFLOW_CONTENT_TYPE?.toLowerCase() === 'json'
}
