/**
 * The patch registry: the built-in patches (one per Node module family), the client
 * integrations (`clients.ts`: rows of third-party patches by `patchAll()` option name)
 * and users' own third-party patches, which one `require-in-the-middle` hook applies as
 * each module is loaded (and at once if it was loaded already), with esm-hook.ts for a
 * package's ES-module files. An ES-module `import` of a CJS package is seen through the
 * files it requires inside the package (`pg/lib/client.js`), so integrations name those.
 * Limit: an ES-module file is seen only on Node ≥ 22.15 (esm-hook.ts).
 */
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { childProcessPatch } from './child-process.js';
import { dnsPatch } from './dns.js';
import { fetchPatch } from './fetch.js';
import { fsPatch } from './fs.js';
import { httpPatch } from './http.js';
import { netPatch } from './net.js';
import { streamsPatch } from './streams.js';
import { timersPatch } from './timers.js';
import { clientNames, clientPatches, type ClientName } from './clients.js';
import { requireBuiltin, unpatchOwner, type ModulePatch, type Patch } from './patch.js';
import { unwatchEsm, watchEsm } from './esm-hook.js';

export type { Patch, Implements, ModulePatch } from './patch.js';

/**
 * The built-in patches, in the order `patchAll()` applies them (`unpatchAll()` reverts in
 * reverse). No function is wrapped by two of them (test/patches/table.test.ts), so the
 * order changes no behaviour: it fixes how reports read, and goes by layer, the files
 * and sockets first, then what is built on them (streams, dns, timers, child processes,
 * http over net, fetch last).
 */
export const builtinPatches = [fsPatch, netPatch, streamsPatch, dnsPatch, timersPatch, childProcessPatch, httpPatch, fetchPatch] as const;

/**
 * The `patchAll()` options of the built-in patches (`net` turns off `streams` too). Written
 * out, not derived from the table (a public type must not name it); checked against it below.
 */
export type BuiltinOption = 'fs' | 'net' | 'dns' | 'timers' | 'childProcess' | 'http' | 'fetch';
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Fails to compile when a row's option is not listed above, or a listed one has no row.
true satisfies Same<BuiltinOption, (typeof builtinPatches)[number]['option']>;
/** `patchAll()`'s on/off options of the built-in patches, derived from the table. */
export type BuiltinPatchOptions = { [K in BuiltinOption]?: boolean };

/** Every on/off option of `patchAll()` (and name of `GREENIO_NO_PATCH`), built-ins first. */
export const patchOptions: readonly (BuiltinOption | ClientName)[] = [...new Set<BuiltinOption | ClientName>([...builtinPatches.map((p) => p.option), ...clientNames])];

const byName = new Map<string, Patch>(builtinPatches.map((p) => [p.name, p]));
// The names `isModulePatched()` accepts for each patch: its name and its aliases.
const byModule = new Map<string, Patch>(builtinPatches.flatMap((p) => [p.name, ...p.aliases].map((m) => [m, p] as const)));
// The monkey state of the built-ins: the patches applied now.
const on = new Set<Patch>();

function exportsOf(module: string): unknown {
  return module === 'global' ? globalThis : requireBuiltin(`node:${module}`);
}

/** Apply the built-in patch `name` and those it comes `with` (when `alone`); true if any was off. */
export function applyBuiltin(name: string, alone = false): boolean {
  const p = byName.get(name)!;
  let changed = false;
  if (!on.has(p)) {
    p.patch(exportsOf(p.module));
    on.add(p);
    changed = true;
  }
  if (alone) for (const w of p.with ?? []) changed = applyBuiltin(w) || changed;
  return changed;
}

/** Revert every built-in patch applied, newest first. */
export function unpatchBuiltins(): void {
  for (const p of [...builtinPatches].reverse()) {
    if (!on.delete(p)) continue;
    unpatchOwner(p.name);
    p.unpatch?.();
  }
}

/** The built-in patch that `module` (`'fs/promises'`, `'https'`, `'streams'`) names, if any. */
export function builtinFor(module: string): Patch | undefined {
  return byModule.get(module);
}

/** True while the built-in patch is applied. */
export function isBuiltinOn(p: Patch): boolean {
  return on.has(p);
}

/** The client integrations by `patchAll()` option name (`pg`, `ioredis`, …). */
export type { ClientName } from './clients.js';
export { clientNames };

const userPatches: ModulePatch[] = [];
const clientsOn = new Set<ClientName>();
// Per patch, every copy of its module it was applied to (a package can be installed twice:
// bullmq's own ioredis beside the application's).
const applied = new Map<ModulePatch, Set<unknown>>();
let hook: { unhook(): void } | null = null;
let hookedNames = '';
let hooking = false;

/** Every third-party patch in force: users' own, then the enabled integrations'. */
function thirdParty(): ModulePatch[] {
  const out = [...userPatches];
  for (const name of clientNames) if (clientsOn.has(name)) out.push(...clientPatches[name]);
  return out;
}

function ownerOf(p: ModulePatch): string {
  return `module:${p.module}`;
}

/** Register a third-party patch; applied now if `hooking` and the module is loaded. */
export function addModulePatch(p: ModulePatch): void {
  userPatches.push(p);
  if (hooking) {
    installHook();
    applyIfLoaded(p);
  }
}

export function modulePatches(): readonly ModulePatch[] {
  return thirdParty();
}

/** Turn a client integration on (applied at once if hooking and its client is loaded). */
export function enableClient(name: ClientName): boolean {
  if (clientsOn.has(name)) return false;
  clientsOn.add(name);
  if (hooking) {
    installHook();
    for (const p of clientPatches[name]) applyIfLoaded(p);
  }
  return true;
}

/** True while the integration `name` is on. */
export function isClientOn(name: ClientName): boolean {
  return clientsOn.has(name);
}

function applyTo(p: ModulePatch, exports: unknown): void {
  let copies = applied.get(p);
  if (copies === undefined) applied.set(p, (copies = new Set()));
  if (copies.has(exports)) return;
  copies.add(exports);
  p.patch(exports);
}

// A module loaded before the patch: found by resolution from the application's folder,
// or, for a file inside a package (which a package's `exports` may hide from
// resolution), by its path among the loaded modules: every copy of it.
function applyIfLoaded(p: ModulePatch): void {
  const req = createRequire(`${process.cwd()}/`);
  try {
    const cached = req.cache[req.resolve(p.module)];
    if (cached !== undefined) applyTo(p, cached.exports);
  } catch {
    // not resolvable from here: the cache scan below, or the hook if it ever loads
  }
  if (!p.module.includes('/')) return;
  const tail = `${sep}node_modules${sep}${p.module.split('/').join(sep)}`;
  for (const [file, m] of Object.entries(req.cache)) if (m !== undefined && file.endsWith(tail)) applyTo(p, m.exports);
}

function withoutJs(module: string): string {
  return module.includes('/') ? module.replace(/([/\\]index)?(\.js)?$/, '') : module;
}

// One hook for every third-party patch; made again when the set of module names grows
// (require-in-the-middle takes its list of names once, at construction).
function installHook(): void {
  const patches = thirdParty();
  // require-in-the-middle names a file inside a package without its `.js` or
  // `/index.js` (`pg/lib/client`): it is given, and matched, both spellings.
  const names = [...new Set(patches.flatMap((p) => [p.module, withoutJs(p.module)]))];
  watchEsm(names, onEsmLoaded);
  const key = names.join('\0');
  if (key === hookedNames || names.length === 0) return;
  hook?.unhook();
  hookedNames = key;
  const { Hook } = createRequire(import.meta.url)('require-in-the-middle') as typeof import('require-in-the-middle');
  hook = new Hook(names, { internals: true }, (exports, name) => {
    for (const p of thirdParty()) if (p.module === name || withoutJs(p.module) === name) applyTo(p, exports);
    return exports;
  });
}

// A package's ES-module file named by a row has run its body (esm-hook.ts).
// A patch that throws here (one that assigns to an export: a namespace is read-only) must
// not fail the application's import: it is reported and the module loads unpatched.
function onEsmLoaded(name: string, namespace: object): void {
  if (!hooking) return;
  for (const p of thirdParty()) {
    if (p.module !== name) continue;
    try {
      applyTo(p, namespace);
    } catch (e) {
      process.emitWarning(`greenio could not patch the ES module ${name}: ${(e as Error)?.message ?? String(e)}`, { type: 'GreenioWarning', code: 'GREENIO_ESM_PATCH' });
    }
  }
}

/** Start applying third-party patches (on load, and to modules loaded already). */
export function enableModulePatches(): void {
  hooking = true;
  installHook();
  for (const p of thirdParty()) applyIfLoaded(p);
}

/** Undo every applied third-party patch and remove the hook. */
export function disableModulePatches(): void {
  hooking = false;
  for (const [p, copies] of [...applied].reverse()) {
    for (const exports of copies) p.unpatch?.(exports);
    unpatchOwner(ownerOf(p));
  }
  applied.clear();
  clientsOn.clear();
  hook?.unhook();
  hook = null;
  hookedNames = '';
  unwatchEsm();
}

export { ownerOf as modulePatchOwner };

/** Every built-in patch, in the order they are applied. */
export const allBuiltinPatches: readonly Patch[] = builtinPatches;
