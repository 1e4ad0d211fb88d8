import {ExitCode, KeyflowError} from '../errors.js'

/** Output formats for several secrets at once: dotenv lines, a JSON object, or shell exports. */
export const SECRET_FORMATS = ['env', 'json', 'shell'] as const
export type SecretFormat = (typeof SECRET_FORMATS)[number]

export interface NamedValue {
  key: string
  value: string
}

/** dotenv syntax that dotenv.parse reads back to the same value. */
function dotenvLine({key, value}: NamedValue): string {
  if (/^[\w./:@+-]*$/.test(value)) return `${key}=${value}`
  if (!value.includes("'") && !value.includes('\n') && !value.includes('\r')) return `${key}='${value}'`
  if (value.includes('"') && !value.includes('`')) return `${key}=\`${value}\``
  const escaped = value.replaceAll('\\', '\\\\').replaceAll('\r', String.raw`\r`).replaceAll('\n', String.raw`\n`)
  if (escaped.includes('"')) {
    throw new KeyflowError(`Secret ${key} holds both quotes and backticks, which dotenv cannot express.`, {
      code: 'VALUE_NOT_REPRESENTABLE',
      exit: ExitCode.BAD_VALUE,
      fix: 'Use --format json or --format shell for this secret.',
    })
  }

  return `${key}="${escaped}"`
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
