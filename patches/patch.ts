/**
 * What a patch is: data (DESIGN.md "Patching rules"). A patch names the module whose
 * exports it receives, the names it answers for and the option that turns it off, lists
 * the names it wraps by calling convention (docs, and the rows of the table-driven tests),
 * and wraps; the table (index.ts) applies it once and reverts it generically (every wrap
 * it made undone, newest first, restoring the original functions).
 */
import { createRequire } from 'node:module';
import { unwrapAll, wrap, type AnyFunction } from '../src/internal/wrap.js';
import { record } from '../src/internal/originals.js';

/** Calling conventions a patch lists its wrapped names under. */
export type Convention = 'callback' | 'promise' | 'sync' | 'handle' | 'stream' | 'global';

/** A wrapped name: `'readFile'`, `'promises.readFile'`, `'Socket.prototype.connect'`. */
export type Implements = Partial<Record<Convention, readonly string[]>>;

/**
 * A built-in patch: one row of the table in `index.ts`, declared once. The table applies
 * it (`patch` receives its module's exports, once, while it is off), reverts every wrap
 * it made (by its `name`), then calls its `unpatch` for any state of its own.
 */
export interface Patch<O extends string = string> {
  /** Its name: in `patchAll()`'s report, and the owner of every wrap it makes. */
  readonly name: string;
  /** The `patchAll()` option (and `GREENIO_NO_PATCH` name) that turns it off. */
  readonly option: O;
  /** The module whose exports `patch` receives (`'global'`: `globalThis`). */
  readonly module: string;
  /** The module names `isModulePatched()` answers for it (besides its `name`). */
  readonly aliases: readonly string[];
  /** Patches that `patchFs()` & co. apply along with it (what its waits go through). */
  readonly with?: readonly string[];
  /** What it wraps, by calling convention (docs, reports, the table-driven tests). */
  readonly implements: Implements;
  /** Wrap what it patches on `exports` (called only while it is off). */
  patch(exports: unknown): void;
  /** Reset its own state after its wraps were undone (optional). */
  unpatch?(): void;
}

/** `implements` from `[convention, name]` rows, for a patch that lists its wraps once as rows. */
export function implementsOf(rows: readonly (readonly [Convention, string])[]): Implements {
  const out: Partial<Record<Convention, string[]>> = {};
  for (const [c, name] of rows) (out[c] ??= []).push(name);
  return out;
}

/** Declare a built-in patch, keeping its option name a literal (the options type is derived from it). */
export function definePatch<const O extends string>(p: Patch<O>): Patch<O> {
  return p;
}

export const requireBuiltin = createRequire(import.meta.url);

/** Wrap `obj[key]` for patch `owner`, recording the original under `module.path`. */
export function patchFn(owner: string, module: string, path: string, obj: object, key: string, make: (o: AnyFunction) => AnyFunction): void {
  const current = (obj as Record<string, unknown>)[key];
  if (typeof current === 'function') record(module, path, current as AnyFunction);
  wrap(obj, key, make, owner);
}

/** Wrap every name in `names` of `obj` with `make(name)`. */
export function patchAllFns(owner: string, module: string, prefix: string, obj: object, names: readonly string[], make: (name: string) => (o: AnyFunction) => AnyFunction): void {
  for (const name of names) {
    if (typeof (obj as Record<string, unknown>)[name] === 'function') patchFn(owner, module, `${prefix}${name}`, obj, name, make(name));
  }
}

/** A patch of a third-party module, applied by the one `require-in-the-middle` hook. */
export interface ModulePatch {
  /** The package name as required (`'pg'`), or a path inside it (`'pg/lib/client.js'`). */
  module: string;
  /** The names it wraps, by calling convention (for reports and your own tests). */
  implements?: Implements;
  /** Wrap what you need on the module's exports (use the factories of `greenio/monkey`). */
  patch(exports: unknown): void;
  /** Undo it (optional: wraps made through `wrapMethod` are undone for you). */
  unpatch?(exports: unknown): void;
}

/** The generic revert. */
export function unpatchOwner(owner: string): void {
  unwrapAll(owner);
}
