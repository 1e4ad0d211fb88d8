import {readFileSync} from 'node:fs'
import {userInfo} from 'node:os'

import {ExitCode, KeyflowError} from '../errors.js'
import {literalEval, PythonKind} from './python-literal.js'

/**
 * What Prefect 1's config loader (prefect/configuration.py, branch 1.x) does to a
 * PREFECT__CONTEXT__SECRETS__NAME variable before a flow sees it, modelled so that `run` can
 * warn about it and mask what the flow will print (docs/compat.md "Prefect 1").
 *
 * For each value the loader runs, in order:
 *   1. interpolate_env_vars: os.path.expandvars then expanduser, repeated until nothing
 *      changes (at most 10 rounds; a value that never settles becomes None, and one that
 *      changed in two or more rounds is converted by string_to_type right there);
 *   2. string_to_type: "true"/"false" in any case become bools, else ast.literal_eval;
 *   3. the same two steps again on every string config value (so '"42"' ends up 42);
 *   4. `${a.b}` replaced by config key a.b (an unknown key by ""), up to 10 times.
 * Names: split on `__` into nested keys, each of which must not be an attribute of its Config
 * (a python-box Box), or the import of prefect fails with `Invalid config key`.
 */

/** dir(Config) for python-box 5 to 7 and dict: a secret (or a part of it between `__`) named so breaks the loader. */
const CONFIG_ATTRIBUTES = new Set([
  'clear', 'copy', 'from_json', 'from_msgpack', 'from_toml', 'from_yaml', 'fromkeys', 'get', 'items', 'keys', 'merge_update', 'pop',
  'popitem', 'setdefault', 'to_dict', 'to_json', 'to_msgpack', 'to_toml', 'to_yaml', 'update', 'values',
])
const isConfigAttribute = (segment: string) => CONFIG_ATTRIBUTES.has(segment) || /^__.*__$/.test(segment) || segment.startsWith('_Box__') || segment === '_protected_keys'

/** Python's posixpath.expandvars: $NAME and ${NAME} of variables that are set; others stay. */
function expandVariables(text: string, env: Record<string, string | undefined>): string {
  return text.replaceAll(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
    const bare = name.startsWith('{') ? name.slice(1, -1) : name
    return Object.hasOwn(env, bare) && env[bare] !== undefined ? env[bare]! : whole
  })
}

/** The home directory of a user from /etc/passwd (what getpwnam finds without NSS modules). */
function passwdHome(user: string): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':')
      if (fields[0] === user && fields.length >= 6) return fields[5]
    }
  } catch {}

  return undefined
}

/**
 * Python's posixpath.expanduser: a leading ~ or ~user; an unknown user leaves the text. Users
 * only NSS knows (LDAP) are not seen here: keyflow then neither warns nor masks the expansion.
 */
function expandUser(text: string, env: Record<string, string | undefined>): string {
  if (!text.startsWith('~')) return text
  const slash = text.indexOf('/', 1)
  const end = slash === -1 ? text.length : slash
  const home = end === 1 ? (env.HOME ?? userInfo().homedir) : passwdHome(text.slice(1, end))
  if (home === undefined) return text
  return home.replace(/\/+$/, '') + text.slice(end) || '/'
}

export type Change = 'config-reference' | 'crash' | 'home' | 'never-settles' | 'variables' | `literal:${PythonKind}`

export interface PrefectReading {
  /** What the loader does, in order; empty when the flow gets the value as injected. */
  changes: Change[]
  /** The string the flow gets when it is still a string and computable; may equal the value. */
  expanded?: string
}

interface Expansion {
  changes: Set<Change>
  /** A literal_eval result that is not a string, or a failure; ends the reading. */
  settled?: Change
  text: string
}

/**
 * interpolate_env_vars then string_to_type, as one pass of the loader runs them. In the first
 * pass string_to_type is called on whatever interpolate_env_vars returned, so a value it
 * already converted (two or more rounds of expansion) or gave up on (None) breaks the import.
 */
function expandAndConvert(text: string, env: Record<string, string | undefined>, changes: Set<Change>, pass: 1 | 2): Expansion {
  let current = text
  let rounds = 0
  const settle = (change: Change): Expansion => ({changes, settled: pass === 1 ? 'crash' : change, text: current})
  if (current !== '') {
    for (;;) {
      if (rounds === 10) return settle('never-settles')
      const variables = expandVariables(current, env)
      const user = expandUser(variables, env)
      if (variables !== current) changes.add('variables')
      if (user !== variables) changes.add('home')
      if (user === current) break
      current = user
      rounds += 1
    }
  }

  for (const inner of rounds > 1 ? [true, false] : [false]) {
    const converted = convert(current)
    if (converted.kind !== 'str') return inner ? settle(`literal:${converted.kind}`) : {changes, settled: `literal:${converted.kind}`, text: current}
    if (converted.text !== current) changes.add('literal:str')
    current = converted.text
  }

  return {changes, text: current}
}

/** string_to_type. */
function convert(text: string): {kind: PythonKind; text: string} {
  if (/^(?:true|false)$/i.test(text)) return {kind: 'bool', text}
  const literal = literalEval(text)
  if (!literal) return {kind: 'str', text}
  return {kind: literal.kind, text: literal.text ?? text}
}

const INTERPOLATION = /\$\{(.[^${}]*)\}/

/** What Prefect 1 makes of `value` injected as a context secret, in an environment `env`. */
export function prefectReading(value: string, env: Record<string, string | undefined>): PrefectReading {
  const changes = new Set<Change>()
  const first = expandAndConvert(value, env, changes, 1)
  if (first.settled) return {changes: [...changes, first.settled]}
  const second = expandAndConvert(first.text, env, changes, 2)
  if (second.settled) return {changes: [...changes, second.settled]}
  if (INTERPOLATION.test(second.text)) {
    // Another config key's value (e.g. ${server.host}) cannot be known here; an unknown one is "".
    changes.add('config-reference')
    return {changes: [...changes]}
  }

  return {changes: [...changes], expanded: second.text}
}

const LITERAL_NAMES: Record<PythonKind, string> = {
  bool: 'a bool (True/False)',
  bytes: 'bytes',
  complex: 'a complex number',
  dict: 'a dict',
  ellipsis: 'Ellipsis',
  float: 'a float',
  int: 'an int',
  list: 'a list',
  none: 'None',
  set: 'a set',
  str: 'a string without its quotes (a quoted string literal)',
  tuple: 'a tuple',
}

/** The changes in words, for a warning: never the value, only what happens to it. */
export function describeChanges(changes: Change[]): string {
  return changes
    .map((change) => {
      switch (change) {
        case 'config-reference': {
          // eslint-disable-next-line no-template-curly-in-string -- Prefect's syntax, in words
          return 'replaces ${a.b} with the value of config key a.b ("" for an unknown key)'
        }

        case 'crash': {
          return 'fails at import (a nested expansion yields a non-string, which string_to_type cannot take)'
        }

        case 'home': {
          return 'replaces a leading ~ or ~user with a home directory'
        }

        case 'never-settles': {
          return 'gives None (its expansion does not settle in 10 rounds)'
        }

        case 'variables': {
          // eslint-disable-next-line no-template-curly-in-string -- Python's syntax, in words
          return 'expands $NAME and ${NAME} from the environment'
        }

        default: {
          return `reads it as ${LITERAL_NAMES[change.slice('literal:'.length) as PythonKind]}`
        }
      }
    })
    .join(', then ')
}

/**
 * Secret names (the part after PREFECT__CONTEXT__SECRETS__) that Prefect 1 cannot load: an
 * empty part between `__`, a part named like a Config attribute, NAME together with
 * NAME__PART (a value and a dict at one key), and the `=` and NUL an environment cannot hold.
 */
export function checkContextNames(names: Array<{key: string; origin: string}>): void {
  const details: string[] = []
  const keys = new Map(names.map((entry) => [entry.key, entry.origin]))
  for (const {key, origin} of names) {
    const parts = key.split('__')
    const label = `${JSON.stringify(key)} (${origin})`
    if (key === '' || /[\0=]/.test(key)) details.push(`${label}: an environment variable name cannot be empty or hold = or NUL.`)
    else if (parts.includes('')) details.push(`${label}: Prefect nests secret names on __; a part between them is empty.`)
    else if (parts.some((part) => isConfigAttribute(part))) {
      details.push(`${label}: ${JSON.stringify(parts.find((part) => isConfigAttribute(part)))} is an attribute of Prefect's Config; import fails with Invalid config key.`)
    } else {
      for (let length = 1; length < parts.length; length++) {
        const parent = parts.slice(0, length).join('__')
        if (keys.has(parent)) details.push(`${label}: Prefect makes ${JSON.stringify(parent)} a dict for it, but ${JSON.stringify(parent)} (${keys.get(parent)}) is a value too.`)
      }
    }
  }

  if (details.length === 0) return
  throw new KeyflowError(`${details.length === 1 ? 'A secret name' : `${details.length} secret names`} would make Prefect 1's config loader fail.`, {
    code: 'INVALID_CONTEXT_NAME',
    details,
    exit: ExitCode.USAGE,
    fix: 'Rename with ALIAS=REFERENCE (--secret DB_PASSWORD=keys), inject it with --env-style plain, or drop one of two names that nest. See docs/compat.md "Prefect 1".',
  })
}
