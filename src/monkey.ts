/**
 * `greenio/monkey`: patch Node's IO so that code never written for greenio runs under
 * the scheduler (gevent's `monkey.patch_all`). Idempotent; `unpatchAll()` restores the
 * exact original functions. ESM named imports of builtins see the patch (their bindings
 * are re-synced). Limits: a function reference taken before the patch (CJS
 * destructuring, a global captured in a variable) keeps the original; greenio warns
 * once, naming the modules loaded before a late `patchAll()`.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
// greenlet.ts configures the hub (its main greenlet) when it loads: before the first patched call.
import { mainGreenlet } from './greenlet.js';
import { config, type SyncIOMode } from './internal/config.js';
import { lookup } from './internal/originals.js';
import { checkOptions, expected } from './internal/validate.js';
import { isWrapped, unwrapped, wrap, type AnyFunction as InternalFunction } from './internal/wrap.js';
import {
  addModulePatch,
  applyBuiltin,
  builtinFor,
  builtinPatches,
  clientNames,
  disableModulePatches,
  enableClient,
  enableModulePatches,
  isBuiltinOn,
  isClientOn,
  modulePatchOwner,
  patchOptions,
  unpatchBuiltins,
  type BuiltinPatchOptions,
  type ClientName,
  type ModulePatch,
} from '../patches/index.js';

import { callbackWrapper as callbackWrapperOf, promiseWrapper as promiseWrapperOf, type CallbackSpec, type PromiseSpec } from '../patches/conventions.js';
import { syncWrapper as syncWrapperOf } from '../patches/sync.js';
export { trackHandle, destroyHandle, type CallbackSpec, type PromiseSpec, type HandleSpec } from '../patches/conventions.js';
export { kind } from './hub/index.js';
import { adopt as hubAdopt, type AnyOp } from './hub/index.js';
import { kOp } from './internal/symbols.js';
export type { ModulePatch } from '../patches/index.js';

/**
 * Options of `patchAll()`: every module family (`fs`, `net`, `dns`, `timers`,
 * `childProcess`, `http`, `fetch`: the options of the patch table) is patched unless set
 * to false.
 */
export interface PatchAllOptions extends BuiltinPatchOptions {
  /** What a `*Sync` call inside a greenlet does (sets `config.syncIO`). */
  syncIO?: SyncIOMode;
  /** Warn (once) when modules were loaded before this late patch (default true). */
  warnLate?: boolean;
}

/** Options of `patchAll()` for the client integrations: each is on unless set to false. */
export type ClientPatchOptions = { [K in ClientName]?: boolean };

/** What `patchAll()` did. */
export interface PatchReport {
  /** Patches applied by this call. */
  patched: string[];
  /** Patches that were already in place. */
  alreadyPatched: string[];
  /** Patches turned off by the options. */
  skipped: string[];
  /** Modules loaded before the patch (the late-patch warning's list; empty when early). */
  lateModules: string[];
}

// The types this module's signatures name, so that a user can name them too.
export type { Kind, KindOptions } from './hub/index.js';

/**
 * An unpatched original, as `getOriginal()` returns it and a wrapper maker receives it:
 * callable with any `this` and arguments; what it returns is `unknown` to the caller.
 */
export type OriginalFunction = (this: unknown, ...args: unknown[]) => unknown;
/** Any function, as a wrapper to install in place of an original. */
export type WrapperFunction = (this: never, ...args: never[]) => unknown;
/** Makes the wrapper of an original (what `wrapMethod` and the `*Wrapper` helpers take and give). */
export type WrapperMaker = (original: OriginalFunction) => WrapperFunction;
/** @deprecated The earlier name of `OriginalFunction`, kept as an alias. */
export type AnyFunction = OriginalFunction;

/** A wrapper maker for a callback-last function (its op is the callback's wait). */
export const callbackWrapper: (spec: CallbackSpec) => WrapperMaker = callbackWrapperOf;
/** A wrapper maker for a promise-returning function (its op is the promise's wait). */
export const promiseWrapper: (spec: PromiseSpec) => WrapperMaker = promiseWrapperOf;
/** A wrapper maker for a `*Sync` call: `config.syncIO` decides what it does in a greenlet. */
export const syncWrapper: (call: string) => WrapperMaker = syncWrapperOf;
export type { LateHandler } from '../patches/conventions.js';
export type { Convention } from '../patches/patch.js';
export type { Implements, ClientName, BuiltinOption, BuiltinPatchOptions } from '../patches/index.js';

const OPTION_NAMES: readonly string[] = [...patchOptions, 'syncIO', 'warnLate'];
let preloading = false;
let warned = false;

/**
 * Patch every supported module (or those the options leave on). Call it first thing,
 * or preload it: `node --import greenio/patch app.js`.
 * @example
 * import { patchAll } from 'greenio/monkey';
 * patchAll({ syncIO: 'warn' });
 */
export function patchAll(options?: PatchAllOptions & ClientPatchOptions): PatchReport {
  const o = checkOptions('options', options) as PatchAllOptions & ClientPatchOptions;
  for (const k of Object.keys(o)) {
    if (!OPTION_NAMES.includes(k)) throw new TypeError(expected('options', `patchAll options (${OPTION_NAMES.join(', ')})`, k));
  }
  if (o.syncIO !== undefined) config.syncIO = o.syncIO;
  const report: PatchReport = { patched: [], alreadyPatched: [], skipped: [], lateModules: [] };
  const loaded = preloading || o.warnLate === false ? [] : lateModules();
  for (const p of builtinPatches) {
    const opt = o[p.option];
    if (opt !== undefined && typeof opt !== 'boolean') throw new TypeError(expected(p.option, 'a boolean', opt));
    if (opt === false) report.skipped.push(p.name);
    else if (applyBuiltin(p.name)) report.patched.push(p.name);
    else report.alreadyPatched.push(p.name);
  }
  for (const name of clientNames) {
    const opt = o[name];
    if (opt !== undefined && typeof opt !== 'boolean') throw new TypeError(expected(name, 'a boolean', opt));
    if (opt === false) report.skipped.push(name);
    else if (enableClient(name)) report.patched.push(name);
    else report.alreadyPatched.push(name);
  }
  enableModulePatches();
  syncBuiltinESMExports();
  // Only a call that patched something can have come too late for someone.
  if (report.patched.length > 0) report.lateModules = loaded;
  if (report.lateModules.length > 0 && !warned) {
    warned = true;
    const shown = report.lateModules.slice(0, 8).join(', ');
    const more = report.lateModules.length > 8 ? ` and ${report.lateModules.length - 8} more` : '';
    process.emitWarning(
      `patchAll() ran after these modules were loaded: ${shown}${more}. Function references they took at load time ` +
        `(const { readFile } = require('fs'), a global setTimeout kept in a variable) still point at the unpatched ` +
        `functions. Preload greenio (node --import greenio/patch app.js) or call patchAll() before loading them.`,
      { type: 'GreenioWarning', code: 'GREENIO_LATE_PATCH' },
    );
  }
  return report;
}

// One patch and those it comes with (the table's `with`).
function single(name: string): boolean {
  const changed = applyBuiltin(name, true);
  syncBuiltinESMExports();
  return changed;
}

/** Patch `fs` and `fs/promises` only. Returns true if anything was patched now. */
export const patchFs = (): boolean => single('fs');
/** Patch `net` (sockets, servers) and waits on stream data. */
export const patchNet = (): boolean => single('net');
/** Patch `dns` and `dns/promises`. */
export const patchDns = (): boolean => single('dns');
/** Patch global timers, `timers` and `timers/promises`. */
export const patchTimers = (): boolean => single('timers');
/** Patch `child_process`. */
export const patchChildProcess = (): boolean => single('childProcess');
/** Patch `http` and `https` client requests (servers are `net` servers). */
export const patchHttp = (): boolean => single('http');
/** Patch global `fetch` and response bodies. */
export const patchFetch = (): boolean => single('fetch');

/** Restore every original function (built-ins and third-party patches). */
export function unpatchAll(): void {
  unpatchBuiltins();
  disableModulePatches();
  syncBuiltinESMExports();
}

/** True if the module (`'fs'`, `'node:fs/promises'`, `'child_process'`, `'fetch'`) is patched now. */
export function isModulePatched(name: string): boolean {
  if (typeof name !== 'string') throw new TypeError(expected('name', 'a module name', name));
  const bare = name.replace(/^node:/, '');
  if ((clientNames as string[]).includes(bare)) return isClientOn(bare as ClientName);
  const p = builtinFor(bare);
  return p !== undefined && isBuiltinOn(p);
}

/** True if `obj[name]` is currently a greenio wrapper. */
export function isObjectPatched(obj: object, name: PropertyKey): boolean {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) throw new TypeError(expected('obj', 'an object', obj));
  return isWrapped(obj, name);
}

/**
 * The original (unpatched) function `name` of `module` (`'fs'`, `'timers'`, `'global'`
 * for globals; a dotted path such as `'promises.readFile'` or `'Socket.prototype.connect'`).
 */
export function getOriginal(module: string, name: string): OriginalFunction {
  const mod = module.replace(/^node:/, '');
  // Patches record each original under the module and path it was found at.
  const found = lookup(mod, name);
  if (found !== undefined) return found as OriginalFunction;
  const base: unknown = mod === 'global' ? globalThis : createRequire(import.meta.url)(`node:${mod}`);
  let v: unknown = base;
  for (const part of name.split('.')) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[part];
  if (typeof v !== 'function') throw new TypeError(`${module}.${name} is not a function`);
  // Another spelling of a patched function (`fs`, `promises.readFile`): its original.
  return unwrapped(v as InternalFunction);
}

/**
 * Declare a patch for a third-party library: applied when the library is required (one
 * `require-in-the-middle` hook serves all), or at once if it is loaded, while patched.
 * Inside `patch(exports)`, use `wrapMethod` with the factories of this module.
 * @example
 * import { registerPatch, wrapMethod, promiseWrapper, kind } from 'greenio/monkey';
 * registerPatch({
 *   module: 'my-db',
 *   patch(db) {
 *     wrapMethod('my-db', (db as { Client: { prototype: object } }).Client.prototype, 'query',
 *       promiseWrapper({ kind: kind('my-db.query') }));
 *   },
 * });
 */
export function registerPatch(def: ModulePatch): void {
  const d = checkOptions('def', def) as Partial<ModulePatch>;
  if (typeof d.module !== 'string' || d.module === '') throw new TypeError(expected('def.module', 'a module name', d.module));
  if (typeof d.patch !== 'function') throw new TypeError(expected('def.patch', 'a function', d.patch));
  addModulePatch(def);
}

/** Wrap `obj[name]` on behalf of the third-party patch of `module` (undone by `unpatchAll`). */
export function wrapMethod(module: string, obj: object, name: PropertyKey, make: WrapperMaker): boolean {
  return wrap(obj, name, make as (original: InternalFunction) => InternalFunction, modulePatchOwner({ module } as ModulePatch));
}

function opOf(handle: unknown): AnyOp | undefined {
  if (handle === null || (typeof handle !== 'object' && typeof handle !== 'function')) throw new TypeError(expected('handle', 'a socket, server, request or child process', handle));
  return (handle as Record<symbol, AnyOp | undefined>)[kOp];
}

/**
 * Make a tracked handle (a socket, server, request or child process) belong to the
 * current greenlet: its kill, or its death from an error, closes it. Returns false if
 * the handle is not tracked (opened before the patch, or by a pool's own machinery).
 */
export function adopt(handle: object): boolean {
  const op = opOf(handle);
  if (op === undefined || op.settled) return false;
  hubAdopt(op);
  return true;
}

/**
 * Make a tracked handle belong to no greenlet (to the main greenlet, which is never
 * killed): for a connection pool that opens a connection inside one greenlet and lends
 * it to others, so that the opener's death does not close it.
 * @example
 * import net from 'node:net';
 * import { disown } from 'greenio/monkey';
 * const conn = net.connect(5432, '127.0.0.1');
 * disown(conn); // the pool's now
 */
export function disown(handle: object): boolean {
  const op = opOf(handle);
  if (op === undefined || op.settled) return false;
  hubAdopt(op, mainGreenlet);
  return true;
}

/** @internal The preload entry (`greenio/patch`) patches before the application loads. */
export function patchFromPreload(options: PatchAllOptions & ClientPatchOptions): PatchReport {
  preloading = true;
  try {
    return patchAll(options);
  } finally {
    preloading = false;
  }
}

// greenio's own code: `<root>/src`, `<root>/patches` (under tsx) or `<root>/dist`.
const here = dirname(fileURLToPath(import.meta.url));
const greenioRoot = resolve(here, here.includes(`${sep}dist${sep}`) ? '../..' : '..');
const ownDirs = ['dist', 'src', 'patches'].map((d) => `${greenioRoot}${sep}${d}${sep}`);

/** CJS modules loaded before a late patch, other than greenio's own and its caller. */
function lateModules(): string[] {
  const cache = createRequire(import.meta.url).cache;
  const caller = callerFile();
  const out: string[] = [];
  for (const file of Object.keys(cache)) {
    if (file === caller || ownDirs.some((d) => file.startsWith(d))) continue;
    if (/[/\\]node_modules[/\\](require-in-the-middle|module-details-from-path|resolve|is-core-module|hasown|function-bind|debug|ms|vitest|@vitest|tinypool|tinyrainbow|tsx|esbuild|get-tsconfig)[/\\]/.test(file)) continue;
    out.push(relative(process.cwd(), file) || file);
  }
  return out;
}

function callerFile(): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, patchAll);
  const line = (holder.stack ?? '').split('\n')[1] ?? '';
  const m = /\(?((?:file:\/\/)?\/[^:()]+):\d+:\d+\)?$/.exec(line.trim());
  if (!m) return undefined;
  return m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1];
}
