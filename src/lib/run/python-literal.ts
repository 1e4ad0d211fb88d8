/**
 * What Python's `ast.literal_eval` makes of a string, as far as keyflow needs to know it: the
 * kind of value, and for a string literal its text (Prefect 1 expands and converts it again).
 * Prefect 1's config loader runs every injected value through literal_eval (docs/compat.md),
 * so `run` must know which values come out as something other than the text it injected.
 *
 * The grammar is literal_eval's: numbers (with _, 0x/0o/0b, floats, imaginary, a sign, and
 * `a+bj`), strings and bytes (any prefix but f, adjacent literals joined), True/False/None,
 * tuples, lists, dicts, sets and `set()`, with comments and brackets' line breaks. Leading
 * spaces and tabs are dropped as literal_eval does. Anything else is not a literal.
 */

export type PythonKind = 'bool' | 'bytes' | 'complex' | 'dict' | 'ellipsis' | 'float' | 'int' | 'list' | 'none' | 'set' | 'str' | 'tuple'

export interface PythonLiteral {
  kind: PythonKind
  /** The text of a str literal. */
  text?: string
}

class NotLiteral extends Error {}

const fail = (): never => {
  throw new NotLiteral()
}

const NUMBER =
  /^(?:0[xX](?:_?[\dA-Fa-f])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?)([jJ])?/

const STRING_PREFIX = /^(?:[rR][bB]?|[bB][rR]?|[uU])?(?='|")/

const ESCAPES: Record<string, string> = {'\n': '', '"': '"', "'": "'", '\\': '\\', a: '\u0007', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v'}

function unescape(body: string): string {
  return body.replaceAll(/\\(x[\dA-Fa-f]{2}|u[\dA-Fa-f]{4}|U[\dA-Fa-f]{8}|[0-7]{1,3}|[\s\S])/g, (whole, escape: string) => {
    if (/^[xuU]/.test(escape) && escape.length > 1) return String.fromCodePoint(Number.parseInt(escape.slice(1), 16))
    if (/^[0-7]/.test(escape)) return String.fromCodePoint(Number.parseInt(escape, 8))
    return Object.hasOwn(ESCAPES, escape) ? ESCAPES[escape] : whole
  })
}

class Reader {
  depth = 0
  position = 0

  constructor(private readonly text: string) {}

  atom(): PythonLiteral {
    this.space()
    const rest = this.text.slice(this.position)
    // A sign applies to a number itself, parenthesized or not: -(1) is, --1 and -(1+2j) are not.
    if (/^[+-]/.test(rest)) {
      this.position += 1
      let parentheses = 0
      while (this.take('(')) parentheses += 1
      const operand = this.number() ?? fail()
      for (; parentheses > 0; parentheses--) if (!this.take(')')) fail()
      return this.complexTail(operand)
    }

    const name = /^[A-Z_a-z]\w*/.exec(rest)
    if (name && !STRING_PREFIX.test(rest)) {
      this.position += name[0].length
      if (name[0] === 'True' || name[0] === 'False') return {kind: 'bool'}
      if (name[0] === 'None') return {kind: 'none'}
      if (name[0] === 'Ellipsis') return fail() // a name, not the ... constant
      if (name[0] === 'set' && this.take('(') && this.take(')')) return {kind: 'set'}
      return fail()
    }

    if (rest.startsWith('...')) {
      this.position += 3
      return {kind: 'ellipsis'}
    }

    const number = this.number()
    if (number) return this.complexTail(number)

    if (STRING_PREFIX.test(rest)) return this.strings()
    for (const [open, close, kind] of [['(', ')', 'tuple'], ['[', ']', 'list'], ['{', '}', 'set']] as const) {
      if (this.take(open)) return this.container(close, kind)
    }

    return fail()
  }

  /** `a+bj` and `a-bj` are literals too: a real number, a sign, an unsigned imaginary one. */
  complexTail(left: PythonLiteral): PythonLiteral {
    const saved = this.position
    this.space()
    if (this.take('+') || this.take('-')) {
      this.space()
      const right = this.number()
      if (right?.kind === 'complex' && left.kind !== 'complex') return right
      return fail()
    }

    this.position = saved
    return left
  }

  container(close: string, kind: 'list' | 'set' | 'tuple'): PythonLiteral {
    this.depth += 1
    if (this.depth > 100) fail()
    let count = 0
    let isDict = false
    let trailingComma = false
    let only: PythonLiteral | undefined
    while (!this.take(close)) {
      if (count > 0 && !trailingComma) fail()
      const item = this.atom()
      only = item
      if (kind === 'set' && (count === 0 ? this.take(':') : isDict)) {
        if (count > 0 && !this.take(':')) fail()
        isDict = true
        this.atom()
      } else if (kind === 'set' && ['dict', 'list', 'set'].includes(item.kind)) {
        fail() // unhashable: literal_eval raises TypeError
      }

      count += 1
      trailingComma = this.take(',')
    }

    this.depth -= 1
    if (kind === 'set') return {kind: isDict || count === 0 ? 'dict' : 'set'}
    // (x) is x, not a tuple; an empty () is the empty tuple.
    if (kind === 'tuple' && count === 1 && !trailingComma) return only!
    return {kind}
  }

  end(): boolean {
    this.space()
    return this.position >= this.text.length
  }

  /** An unsigned number literal, or undefined when none starts here. */
  number(): PythonLiteral | undefined {
    const number = NUMBER.exec(this.text.slice(this.position))
    if (!number || number[0] === '') return undefined
    this.position += number[0].length
    // 1.2.3, 1e, 1_ and 0x run into more name or number characters; 01 is not a Python 3 int.
    if (/^[\w.]/.test(this.text.slice(this.position)) || /^0[\d_]*[1-9]/.test(number[0].replace(/[.eEjJ].*$/, '')) && !/[.eEjJ]/.test(number[0])) fail()
    return {kind: number[1] ? 'complex' : /^0[box]/i.test(number[0]) || !/[.eE]/.test(number[0]) ? 'int' : 'float'}
  }

  /** Whitespace; line breaks only inside brackets; a comment to the end of the line. */
  space(): void {
    const pattern = this.depth > 0 ? /^(?:[\t\n\f\r ]|\\\n|#[^\n]*)*/ : /^(?:[\t\f ]|\\\n|#[^\n]*)*/
    this.position += pattern.exec(this.text.slice(this.position))![0].length
    // A trailing line break ends the expression.
    if (this.depth === 0 && /^\s*$/.test(this.text.slice(this.position))) this.position = this.text.length
  }

  string(): PythonLiteral {
    const rest = this.text.slice(this.position)
    const prefix = STRING_PREFIX.exec(rest)![0]
    const quote = rest.slice(prefix.length).startsWith(rest[prefix.length].repeat(3)) ? rest[prefix.length].repeat(3) : rest[prefix.length]
    let index = prefix.length + quote.length
    const raw = /r/i.test(prefix)
    for (;;) {
      if (index >= rest.length) fail()
      if (rest[index] === '\\') index += 2
      else if (rest.startsWith(quote, index)) break
      else if (rest[index] === '\n' && quote.length === 1) fail()
      else index += 1
    }

    const body = rest.slice(prefix.length + quote.length, index)
    this.position += index + quote.length
    return {kind: /b/i.test(prefix) ? 'bytes' : 'str', text: raw ? body : unescape(body)}
  }

  /** Adjacent literals are one: 'a' "b" is 'ab'; str and bytes do not mix. */
  strings(): PythonLiteral {
    const first = this.string()
    let text = first.text ?? ''
    for (;;) {
      const saved = this.position
      this.space()
      if (!STRING_PREFIX.test(this.text.slice(this.position))) {
        this.position = saved
        return {kind: first.kind, text}
      }

      const next = this.string()
      if (next.kind !== first.kind) fail()
      text += next.text
    }
  }

  take(token: string): boolean {
    this.space()
    if (!this.text.startsWith(token, this.position)) return false
    this.position += token.length
    return true
  }
}

/** The value literal_eval makes of `text`, or undefined when it raises (Prefect keeps the string). */
export function literalEval(text: string): PythonLiteral | undefined {
  const reader = new Reader(text.replace(/^[\t ]+/, ''))
  try {
    const value = reader.atom()
    // A bare `1, 2` is a tuple too.
    if (reader.take(',')) {
      while (!reader.end()) {
        reader.atom()
        if (!reader.take(',')) break
      }

      return reader.end() ? {kind: 'tuple'} : undefined
    }

    return reader.end() ? value : undefined
  } catch (error) {
    if (error instanceof NotLiteral) return undefined
    throw error
  }
}
