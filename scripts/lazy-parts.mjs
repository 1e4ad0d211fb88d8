/**
 * The check scripts/bundle.mjs makes of each lazy part it builds: that the fast bundle's shared
 * view gives every name the lazy part reads of the modules the bundle holds. The view is made
 * from the names sharedNames reads off an ES module build of the lazy part; this reads them
 * again off the CommonJS part that ships, so a name one reading misses fails the build, where
 * it would otherwise be undefined on that path at run time. (That each name is one its module
 * exports, tsc has checked, and esbuild checks again for the names the view imports.)
 */

const escapeRegExp = (text) => text.replaceAll(/[$()*+.?[\\\]^{|}]/g, String.raw`\$&`)

/**
 * What a lazy part's CommonJS text reads of each module required under `prefix`: module id ->
 * the names read. esbuild requires each such module into a variable of its own
 * (`import_errors = require("keyflow-shared:lib/errors.js")`, through __toESM for a default
 * import) and reads a name as a member of it (`import_errors.KeyflowError`). A require in any
 * other form throws: what it reads cannot be told, and an unread part must not pass.
 */
export function sharedReads(text, prefix, part = 'the lazy part') {
  const required = new RegExp(String.raw`require\("${escapeRegExp(prefix)}([^"]+)"\)`, 'g')
  const bound = new RegExp(String.raw`(?<![\w$.])([\w$]+)=(?:__toESM\()?require\("${escapeRegExp(prefix)}([^"]+)"\)`, 'g')
  const bindings = [...text.matchAll(bound)]
  const unread = [...text.matchAll(required)].map(([, id]) => id)
  for (const binding of bindings) unread.splice(unread.indexOf(binding[2]), 1)
  if (unread.length > 0) {
    throw new Error(`scripts/lazy-parts.mjs cannot tell what ${part} reads of ${unread[0]}: esbuild required it in a form other than \`import_x = require(...)\`. Teach sharedReads that form.`)
  }

  const reads = new Map()
  for (const [, variable, id] of bindings) {
    const names = reads.get(id) ?? new Set()
    for (const [, name] of text.matchAll(new RegExp(String.raw`(?<![\w$.])${escapeRegExp(variable)}\.([\w$]+)`, 'g'))) names.add(name)
    reads.set(id, names)
  }

  return new Map([...reads].map(([id, names]) => [id, [...names].sort()]))
}

/**
 * Throws, naming the part, the module and the name, where the lazy part `part` (its CommonJS
 * `text`) reads a name of a shared module that `view` (module id -> the names it gives, or
 * undefined where it gives the module whole) does not give.
 */
export function checkLazyPart({part, prefix, text, view}) {
  const missing = []
  for (const [id, names] of sharedReads(text, prefix, part)) {
    const given = view.get(id)
    if (!view.has(id)) missing.push(...(names.length > 0 ? names : ['the module itself']).map((name) => [id, name]))
    else if (given !== undefined) missing.push(...names.filter((name) => !given.includes(name)).map((name) => [id, name]))
  }

  if (missing.length > 0) {
    throw new Error(
      missing.map(([id, name]) => `${part} reads ${name} of ${id}, which the shared view does not give: that path would fail at run time.`).join('\n') +
        '\nThe view is made from the names sharedNames (scripts/bundle.mjs) reads off the lazy part: fix how it reads them.',
    )
  }
}
