import {ExitCode, KeyflowError} from '../errors.js'

/** Output formats for several secrets at once: dotenv lines, a JSON object, or shell exports. */
export const SECRET_FORMATS = ['env', 'json', 'shell'] as const
export type SecretFormat = (typeof SECRET_FORMATS)[number]

export interface NamedValue {
  key: string
  value: string
}

/**
 * dotenv syntax that dotenv.parse reads back to the same value. dotenv keeps single-quoted
 * and backtick-quoted text literally (line ends included) but turns every CR into LF; in
 * double quotes it turns `\n` and `\r` into line ends and unescapes nothing else. A backslash
 * just before a closing quote escapes it, so such a value is written unquoted if it can be.
 */
export function dotenvLine({key, value}: NamedValue): string {
  if (/^[\w./:@+-]*$/.test(value)) return `${key}=${value}`
  if (!value.endsWith('\\')) {
    const quote = value.includes('\r') ? undefined : ["'", '`'].find((candidate) => !value.includes(candidate))
    if (quote) return `${key}=${quote}${value}${quote}`
    if (!value.includes('"') && !/\\[nr]/.test(value)) {
      return `${key}="${value.replaceAll('\n', String.raw`\n`).replaceAll('\r', String.raw`\r`)}"`
    }
  }

  // Unquoted, dotenv reads to the end of the line, stops at #, and trims.
  if (!/[\n\r#]/.test(value) && value === value.trim() && !/^['"`]/.test(value)) return `${key}=${value}`
  throw new KeyflowError(`Secret ${key} holds characters that dotenv syntax cannot express together.`, {
    code: 'VALUE_NOT_REPRESENTABLE',
    exit: ExitCode.BAD_VALUE,
    fix: 'Use --format json or --format shell for this secret.',
  })
}

/** POSIX shell: single quotes keep everything literal; a quote is closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", String.raw`'\''`)}'`
}

export function formatSecrets(values: NamedValue[], format: SecretFormat): string {
  switch (format) {
    case 'env': {
      return values.map((value) => dotenvLine(value) + '\n').join('')
    }

    case 'json': {
      return JSON.stringify(Object.fromEntries(values.map(({key, value}) => [key, value])), null, 2) + '\n'
    }

    case 'shell': {
      return values.map(({key, value}) => `export ${key}=${shellQuote(value)}\n`).join('')
    }
  }
}
