/**
 * The originals registry: Node functions as they were before any greenio patch, so the
 * hub, the pools and the instrumentation never recurse through greenio's own wrappers.
 * Timers are captured when this module is first evaluated (before `patchAll()` can run,
 * since every patch imports the hub); patches record what they replace with `record()`.
 */
import timers from 'node:timers';

export const originalSetTimeout = globalThis.setTimeout;
export const originalClearTimeout = globalThis.clearTimeout;
export const originalSetImmediate = globalThis.setImmediate;
export const originalClearImmediate = globalThis.clearImmediate;
export const originalSetInterval = globalThis.setInterval;
export const originalClearInterval = globalThis.clearInterval;
export const originalTimersSetTimeout = timers.setTimeout;
export const originalTimersSetImmediate = timers.setImmediate;

type AnyFunction = (...args: never[]) => unknown;
const registry = new Map<string, AnyFunction>();

/** Remember `fn` as the original of `module.name` (first record wins: the true original). */
export function record(module: string, name: string, fn: AnyFunction): void {
  const key = `${module}\0${name}`;
  if (!registry.has(key)) registry.set(key, fn);
}

/** The original of `module.name`, or undefined if no patch ever replaced it. */
export function lookup(module: string, name: string): AnyFunction | undefined {
  return registry.get(`${module}\0${name}`);
}
