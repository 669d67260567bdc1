/**
 * The registry of live greenlets (started, not dead): an intrusive doubly linked list
 * through the greenlets themselves (no allocation per greenlet), with alive/peak/
 * finished counters for stats. Limit: order is spawn order only through `liveGreenlets()`.
 */
import type { Core } from './ops.js';

let registryHead: Core | null = null;
export const counters = { alive: 0, peak: 0, finished: 0, spawned: 0 };

export function register(g: Core): void {
  g.rnext = registryHead;
  if (registryHead !== null) registryHead.rprev = g;
  registryHead = g;
  counters.spawned++;
  if (++counters.alive > counters.peak) counters.peak = counters.alive;
  if (spawnHook !== null) {
    const f = spawnHook;
    spawnHook = null;
    f();
  }
}

let spawnHook: (() => void) | null = null;

/** Run `f` once, at the next greenlet registered (instrument/attach.ts arms its signal then). */
export function setFirstSpawnHook(f: (() => void) | null): void {
  spawnHook = f;
}

export function unregister(g: Core): void {
  if (g.rprev !== null) g.rprev.rnext = g.rnext;
  else if (registryHead === g) registryHead = g.rnext;
  else return;
  if (g.rnext !== null) g.rnext.rprev = g.rprev;
  g.rprev = g.rnext = null;
  counters.alive--;
  counters.finished++;
  if (deathHook !== null) deathHook(g);
}

let deathHook: ((g: Core) => void) | null = null;

/** instrument/deadlock.ts: told of each death (a lock its owner died holding). */
export function setDeathHook(f: ((g: Core) => void) | null): void {
  deathHook = f;
}

/** Live greenlets, oldest first. */
export function liveGreenlets(): Core[] {
  const out: Core[] = [];
  for (let g = registryHead; g !== null; g = g.rnext) out.push(g);
  return out.reverse();
}
