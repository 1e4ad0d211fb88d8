import {expect} from 'chai'
import {describe, it} from 'mocha'
import {execFileSync} from 'node:child_process'

import {literalEval} from '../../../src/lib/run/python-literal.js'

/**
 * keyflow's reading of Python literals (which decides Prefect 1 warnings) against Python's own
 * ast.literal_eval, case by case: the kind of value, or "not a literal".
 */
const CASES = [
  "42",
  "-5",
  "+3",
  "0x1F",
  "0o17",
  "0b101",
  "1_000",
  "1__0",
  "1.",
  "1.5e-3",
  ".5",
  "1e400",
  "1j",
  "2+3j",
  "2-3J",
  "1+2",
  "True",
  "False",
  "None",
  "none",
  "'a'",
  "\"b\"",
  "'''x'''",
  "b'x'",
  "rb'x'",
  "f'x'",
  "u'x'",
  "'a' 'b'",
  "'a' b'b'",
  "(1)",
  "(1,)",
  "()",
  "[]",
  "[1,]",
  "[1,,]",
  "{}",
  "{1}",
  "{1:2}",
  "{1:2,}",
  "{'a':[1,{2}]}",
  "{[1]}",
  "set()",
  "set(1)",
  "1,2",
  "1,",
  "  7",
  "7  ",
  "\t8",
  "42 # c",
  "# c",
  "(1,\n2)",
  "1\n",
  "x",
  "abc def",
  "'unterminated",
  String.raw`'a\'b'`,
  String.raw`'\x41'`,
  "1 2",
  "--1",
  "-(1)",
  "-((2))",
  "-(1+2j)",
  "-(1,)",
  "{**a}",
  "[1][0]",
  "...",
  "Ellipsis",
  "'a'\n'b'",
  "(\n'a'\n'b')",
  "0",
  "00",
  "01",
  "1_",
  "0x",
  "1e",
  "1.2.3",
  "'\u00E9'",
  "-1j",
  "-1+2j",
  "1+-2j",
  "(1+2j)",
  "[1+2j]",
  "1 +2j",
  "- 1",
  "(-1)",
  "[-1, +2.5]",
  "{-1: 'x'}",
  String.raw`r'\d'`,
  "'a' # c\n",
  "\"\"\"a\nb\"\"\"",
  "'a\nb'",
  "[\n1,\n2\n]",
  "0_0",
  "0e5",
  "09.5",
]

const PYTHON = `
import ast, json, sys
kinds = {bool: 'bool', int: 'int', float: 'float', complex: 'complex', str: 'str', bytes: 'bytes', list: 'list', tuple: 'tuple', dict: 'dict', set: 'set', type(None): 'none', type(...): 'ellipsis'}
def kind(text):
    try:
        return kinds.get(type(ast.literal_eval(text)), 'other')
    except Exception:
        return None
print(json.dumps([kind(text) for text in json.load(sys.stdin)]))
`

describe('Python literals: keyflow against ast.literal_eval', () => {
  it('agrees with Python on every case', () => {
    const expected = JSON.parse(execFileSync('python3', ['-c', PYTHON], {encoding: 'utf8', input: JSON.stringify(CASES)})) as Array<null | string>
    expect(CASES.map((text) => literalEval(text)?.kind ?? null)).to.deep.equal(expected)
  })
})
