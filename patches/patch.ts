/**
 * What a patch is: data (DESIGN.md "Patching rules"). A patch names the module it
 * patches, lists the names it wraps by calling convention (documentation, and the rows
 * of the table-driven tests), and applies/reverts itself; reverting is generic (every
 * wrap a patch made is undone, newest first, restoring the original functions).
 */
import { createRequire } from 'node:module';
import { unwrapAll, wrap, type AnyFunction } from '../src/internal/wrap.js';
import { record } from '../src/internal/originals.js';

/** Calling conventions a patch lists its wrapped names under. */
export type Convention = 'callback' | 'promise' | 'sync' | 'handle' | 'stream' | 'global';

/** A wrapped name: `'readFile'`, `'promises.readFile'`, `'Socket.prototype.connect'`. */
export type Implements = Partial<Record<Convention, readonly string[]>>;

export interface Patch {
  /** The patch's name: what `isModulePatched()` and `patchAll()`'s options take. */
  readonly name: string;
  /** The module(s) patched, for messages and `getOriginal()`. */
  readonly modules: readonly string[];
  readonly implements: Implements;
  /** Apply the patch (idempotent). */
  patch(): void;
  /** Revert it (restores the exact original functions). */
  unpatch(): void;
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
