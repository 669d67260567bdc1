/**
 * The patch registry: the built-in patches (one per Node module family) and the patches
 * of third-party modules, which one `require-in-the-middle` hook applies as each module
 * is loaded (and at once if it was loaded already). Limit: a pure-ESM package is not
 * seen by the hook (it goes through neither `require` nor the CJS loader).
 */
import { createRequire } from 'node:module';
import { childProcessPatch } from './child-process.js';
import { dnsPatch } from './dns.js';
import { fetchPatch } from './fetch.js';
import { fsPatch } from './fs.js';
import { httpPatch } from './http.js';
import { netPatch } from './net.js';
import { streamsPatch } from './streams.js';
import { timersPatch } from './timers.js';
import { unpatchOwner, type Implements, type Patch } from './patch.js';

export type { Patch, Implements } from './patch.js';

/** Built-in patches by option name of `patchAll()`. */
export const builtinPatches = {
  fs: fsPatch,
  net: netPatch,
  streams: streamsPatch,
  dns: dnsPatch,
  timers: timersPatch,
  childProcess: childProcessPatch,
  http: httpPatch,
  fetch: fetchPatch,
} as const;

/** A user's patch of a third-party module (see `registerPatch` in greenio/monkey). */
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

const thirdParty: ModulePatch[] = [];
const applied = new Map<ModulePatch, unknown>();
let hook: { unhook(): void } | null = null;
let hooking = false;

function ownerOf(p: ModulePatch): string {
  return `module:${p.module}`;
}

/** Register a third-party patch; applied now if `hooking` and the module is loaded. */
export function addModulePatch(p: ModulePatch): void {
  thirdParty.push(p);
  if (hooking) {
    installHook();
    applyIfLoaded(p);
  }
}

export function modulePatches(): readonly ModulePatch[] {
  return thirdParty;
}

function applyTo(p: ModulePatch, exports: unknown): void {
  if (applied.has(p)) return;
  applied.set(p, exports);
  p.patch(exports);
}

function applyIfLoaded(p: ModulePatch): void {
  const req = createRequire(`${process.cwd()}/`);
  let path: string;
  try {
    path = req.resolve(p.module);
  } catch {
    return; // not installed where the application runs: the hook applies it if it ever loads
  }
  const cached = req.cache[path];
  if (cached !== undefined) applyTo(p, cached.exports);
}

function installHook(): void {
  if (hook !== null || thirdParty.length === 0) return;
  const { Hook } = createRequire(import.meta.url)('require-in-the-middle') as typeof import('require-in-the-middle');
  hook = new Hook(
    thirdParty.map((p) => p.module),
    { internals: true },
    (exports, name) => {
      for (const p of thirdParty) if (p.module === name) applyTo(p, exports);
      return exports;
    },
  );
}

/** Start applying third-party patches (on load, and to modules loaded already). */
export function enableModulePatches(): void {
  hooking = true;
  installHook();
  for (const p of thirdParty) applyIfLoaded(p);
}

/** Undo every applied third-party patch and remove the hook. */
export function disableModulePatches(): void {
  hooking = false;
  for (const [p, exports] of [...applied].reverse()) {
    p.unpatch?.(exports);
    unpatchOwner(ownerOf(p));
  }
  applied.clear();
  hook?.unhook();
  hook = null;
}

export { ownerOf as modulePatchOwner };

/** Every built-in patch, in the order they are applied. */
export const allBuiltinPatches: readonly Patch[] = Object.values(builtinPatches);
