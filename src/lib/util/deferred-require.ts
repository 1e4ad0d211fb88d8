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
 * Only for packages whose exports are an object: a stand-in cannot be called or constructed.
 * A package already loaded is left as it is.
 *
 * @param from the file the packages are resolved from, as its own require() would (a path or file: URL)
 * @param names the packages
 */
export function deferRequire(from: string, names: readonly string[]): void {
  const load = createRequire(from)
  for (const name of names) {
    const filename = load.resolve(name)
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
    standIn.exports = new Proxy(
      {},
      {
        defineProperty: (_target, key, descriptor) => Reflect.defineProperty(exports(), key, descriptor),
        deleteProperty: (_target, key) => Reflect.deleteProperty(exports(), key),
        get: (_target, key) => Reflect.get(exports(), key),
        // A Proxy may report a property that cannot be configured only if its target has it too.
        getOwnPropertyDescriptor(target, key) {
          const descriptor = Reflect.getOwnPropertyDescriptor(exports(), key)
          if (descriptor && !descriptor.configurable) Reflect.defineProperty(target, key, descriptor)
          return descriptor
        },
        getPrototypeOf: () => Reflect.getPrototypeOf(exports()),
        has: (_target, key) => Reflect.has(exports(), key),
        ownKeys: () => Reflect.ownKeys(exports()),
        set: (_target, key, value) => Reflect.set(exports(), key, value),
      },
    )
    load.cache[filename] = standIn
  }
}
