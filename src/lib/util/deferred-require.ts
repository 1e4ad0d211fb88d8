import {createRequire, Module} from 'node:module'

/**
 * Makes CommonJS packages wait to run until they are used: until a property of one of them is
 * first read, a require() of it (from anywhere in this thread) runs none of its code. A package
 * that requires, when it loads, the clients of features most callers never use (snowflake-sdk
 * and its Azure, GCP and file-transfer SDKs: driver.ts) then costs only what is used.
 *
 * How: `require.cache` is Node's documented module cache, and an entry put there is what a
 * require() of that file returns. Each package's entry holds a stand-in for its exports (a
 * Proxy); the first read of any of its properties takes the entry out, requires the package
 * for real (so the cache then holds the real module, and any later require() gets it) and
 * forwards that read, and every later one, to the real exports. A package that fails to load
 * then fails at that first use, not at its requirer's load, and is tried again at the next.
 *
 * Limits: only for packages whose exports are an object (a stand-in cannot be called or
 * constructed). An ES module's `import` of a deferred package keeps the stand-in as its default
 * export: it forwards to the real exports, but is not the object a later require() returns.
 * A package already loaded, or not installed, is left as it is.
 *
 * @param from the file the packages are resolved from, as its own require() would (a path or file: URL)
 * @param names the packages
 */
export function deferRequire(from: string, names: readonly string[]): void {
  const load = createRequire(from)
  for (const name of names) {
    let filename: string
    try {
      filename = load.resolve(name)
    } catch {
      // Not installed: what requires it gets require()'s own error, as it would have.
      continue
    }

    if (load.cache[filename]) continue
    let real: object | undefined
    const exports = (): object => {
      if (!real) {
        delete load.cache[filename]
        real = load(name) as object
      }

      return real
    }

    const standIn = new Module(filename)
    standIn.filename = filename
    standIn.loaded = true
    standIn.exports = new Proxy(shownAs(exports), {
      defineProperty(target, key, descriptor) {
        if (!Reflect.defineProperty(exports(), key, descriptor)) return false
        // A Proxy may report a property that cannot be configured only if its target has it too.
        const defined = Reflect.getOwnPropertyDescriptor(exports(), key)!
        return defined.configurable || Reflect.defineProperty(target, key, defined)
      },
      deleteProperty: (_target, key) => Reflect.deleteProperty(exports(), key),
      get: (_target, key) => Reflect.get(exports(), key),
      getOwnPropertyDescriptor(target, key) {
        const descriptor = Reflect.getOwnPropertyDescriptor(exports(), key)
        if (descriptor && !descriptor.configurable) Reflect.defineProperty(target, key, descriptor)
        return descriptor
      },
      getPrototypeOf: () => Reflect.getPrototypeOf(exports()),
      has: (_target, key) => Reflect.has(exports(), key),
      isExtensible: (target) => Reflect.isExtensible(target),
      ownKeys: () => Reflect.ownKeys(exports()),
      // Object.freeze, seal and preventExtensions close the real exports; a closed Proxy must then
      // show exactly its target's properties, so the target becomes a copy of them all.
      preventExtensions(target) {
        Reflect.preventExtensions(exports())
        for (const key of Reflect.ownKeys(target)) Reflect.deleteProperty(target, key)
        for (const key of Reflect.ownKeys(exports())) Reflect.defineProperty(target, key, Reflect.getOwnPropertyDescriptor(exports(), key)!)
        Reflect.setPrototypeOf(target, Reflect.getPrototypeOf(exports()))
        return Reflect.preventExtensions(target)
      },
      set: (_target, key, value) => Reflect.set(exports(), key, value),
    })
    load.cache[filename] = standIn
  }
}

/**
 * The stand-in's target: util.inspect (console.log) shows a Proxy's target, read without its
 * traps, so the target shows the real exports instead of an empty object.
 */
function shownAs(exports: () => object): object {
  const target = {}
  Object.defineProperty(target, Symbol.for('nodejs.util.inspect.custom'), {
    configurable: true,
    value: (_depth: number, options: object, inspect: (value: unknown, options: object) => string) => inspect(exports(), options),
  })
  return target
}
