/**
 * The ES-module side of the third-party patch hook: a file of a package loaded as an ES
 * module (`postgres/src/query.js` under `import postgres from 'postgres'`) never passes
 * through `require`, so `require-in-the-middle` cannot see it. An in-thread module hook
 * (`module.registerHooks`, Node ≥ 22.15) appends one statement to such a file's source:
 * the module imports its own namespace and hands it to greenio once its body has run, and
 * the patch rows naming that file are applied to it as to a CommonJS module's exports
 * (index.ts reports a row that throws there rather than failing the import).
 * Limits: only files named by a row (`pkg/path/file.js`), not a package's bare name; a
 * namespace is read-only, so a row can patch what its exports hold (a class's prototype),
 * never replace an export; a file loaded before the hook was installed is not seen; and
 * Node 20, which has no in-thread hooks, does not get one (its off-thread
 * `module.register` would start a loader thread in every patched process).
 */
import * as nodeModule from 'node:module';

/** Called with a row's module name and the namespace of the file it names. */
export type EsmLoaded = (name: string, namespace: object) => void;

const CALLBACK = Symbol.for('greenio.esmLoaded');

type LoadResult = { format?: string | null; source?: unknown; shortCircuit?: boolean };
type RegisterHooks = (hooks: {
  load(url: string, context: object, next: (url: string, context?: object) => LoadResult): LoadResult;
}) => { deregister(): void };

const registerHooks = (nodeModule as unknown as { registerHooks?: RegisterHooks }).registerHooks;

/** True where ES-module files can be patched (Node ≥ 22.15). */
export const esmHookAvailable = typeof registerHooks === 'function';

let handle: { deregister(): void } | null = null;
let suffixes: readonly (readonly [string, string])[] = [];

/**
 * Watch ES-module loads for the files `names` name (`pkg/dir/file.js`); `onLoaded` gets
 * each one's namespace after its body ran. Called again with a new list, it replaces it.
 */
export function watchEsm(names: readonly string[], onLoaded: EsmLoaded): void {
  suffixes = names.filter((n) => n.includes('/') && n.endsWith('.js')).map((n) => [`/node_modules/${n}`, n] as const);
  (globalThis as Record<symbol, unknown>)[CALLBACK] = onLoaded;
  if (handle !== null || registerHooks === undefined || suffixes.length === 0) return;
  handle = registerHooks({
    load(url, context, next) {
      const result = next(url, context);
      if (result.format !== 'module' || !url.startsWith('file:')) return result;
      const path = url.split(/[?#]/, 1)[0]!.replaceAll('\\', '/');
      const row = suffixes.find(([s]) => path.endsWith(s));
      if (row === undefined) return result;
      const source = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source as Uint8Array);
      // The module's own namespace, by its own URL (an import cycle of one: by the time the
      // appended call runs, every export is initialised).
      const tail = `\nimport * as __greenio_self from ${JSON.stringify(url)};\nglobalThis[Symbol.for('greenio.esmLoaded')]?.(${JSON.stringify(row[1])}, __greenio_self);\n`;
      return { ...result, source: source + tail };
    },
  });
}

/** Stop watching (files loaded already keep what was applied to them). */
export function unwatchEsm(): void {
  handle?.deregister();
  handle = null;
  suffixes = [];
  delete (globalThis as Record<symbol, unknown>)[CALLBACK];
}
