/**
 * import() of what stays outside keyflow's bundles: a heavy or native package, a user's
 * block-type module. bin/run.js compiles a bundle with vm.Script (to use its code
 * cache), where an import() written in the bundle would find no module loader to ask without
 * an experimental Node feature; so it hands each bundle `__keyflowImport`, an import() made in
 * an ordinary module. Where there is none (tsc's ES modules, a bundle require()d as is) this is
 * the plain import().
 */
declare const __keyflowImport: ((specifier: string) => Promise<unknown>) | undefined

export async function importModule<T>(specifier: string): Promise<T> {
  return (typeof __keyflowImport === 'function' ? __keyflowImport(specifier) : import(specifier)) as Promise<T>
}
