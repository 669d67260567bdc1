/**
 * `stats()`: what the hub has counted so far, as a plain snapshot: greenlets alive,
 * peak and finished; per kind of wait the count and total/average/longest wait; and,
 * through `perGreenlet()`, the same per greenlet. Nothing is counted here: the hub
 * keeps these totals on every wait anyway, so reading them costs nothing beforehand.
 * Limits: `perGreenlet()` with no argument lists the greenlets alive now (a finished
 * one keeps its totals, so pass it in); `*Sync` calls count only inside greenlets.
 */
import * as hub from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import { expected } from '../internal/validate.js';

/** Totals of one kind of wait. Durations in ms. */
export interface KindStats {
  count: number;
  totalMs: number;
  avgMs: number;
  maxMs: number;
  /** In flight now. */
  active: number;
  /** Results that arrived after their op was cancelled (a kill, a Timeout), and were dropped. */
  dropped: number;
}

/** Totals of one kind within one greenlet. */
export interface GreenletKindStats {
  count: number;
  totalMs: number;
  avgMs: number;
  maxMs: number;
}

/** One greenlet's IO: every wait and tracked operation it made, by kind. */
export interface GreenletStats {
  id: number;
  name: string;
  /** The function it runs (`''` if anonymous or main). */
  fn: string;
  /** `'created' | 'scheduled' | 'running' | 'dead'`. */
  state: string;
  /** Waits and operations over all kinds, and their total duration (ms). */
  count: number;
  totalMs: number;
  io: Record<string, GreenletKindStats>;
  /** `*Sync` calls it made (they are in `io` too, under their own names). */
  syncCalls: { count: number; totalMs: number };
}

/** The snapshot `stats()` returns. */
export interface Stats {
  greenlets: {
    /** Started and not dead now (the main greenlet is not counted). */
    alive: number;
    /** The most alive at once. */
    peak: number;
    finished: number;
    /** Started so far (alive + finished). */
    spawned: number;
  };
  /** Per kind of wait, for kinds used so far. */
  io: Record<string, KindStats>;
  /** Every wait and operation over all kinds. */
  total: { count: number; totalMs: number };
  /** `*Sync` calls made inside greenlets. */
  syncCalls: { count: number; totalMs: number };
  /**
   * What a kill or a timeout could not reach (a flow awaiting a promise greenio cannot
   * see): `withTimeout` flows abandoned at their deadline, killed greenlets abandoned,
   * and late results or errors of abandoned flows, dropped.
   */
  abandoned: { timeouts: number; kills: number; lateResults: number };
  /** One greenlet's IO (dead ones too). */
  perGreenlet(greenlet: Greenlet): GreenletStats;
  /** The main greenlet and every live greenlet, oldest first. */
  perGreenlet(): GreenletStats[];
}

const STATES = ['created', 'scheduled', 'running', 'dead'];

/** True for the kinds the sync patch counts (`fs.readFileSync`, `child_process.execSync`). */
export function isSyncKind(name: string): boolean {
  return name.endsWith('Sync');
}

const avg = (total: number, count: number): number => (count === 0 ? 0 : total / count);

/** The IO totals of greenlet `g` (any state). */
export function greenletStats(g: Greenlet): GreenletStats {
  const io: Record<string, GreenletKindStats> = {};
  const sync = { count: 0, totalMs: 0 };
  let count = 0;
  let totalMs = 0;
  for (const r of hub.ioOf(g)) {
    io[r.kind.name] = { count: r.count, totalMs: r.totalMs, avgMs: avg(r.totalMs, r.count), maxMs: r.maxMs };
    count += r.count;
    totalMs += r.totalMs;
    if (isSyncKind(r.kind.name)) {
      sync.count += r.count;
      sync.totalMs += r.totalMs;
    }
  }
  return { id: g.id, name: g.name, fn: g.fnName, state: STATES[g.state] ?? 'unknown', count, totalMs, io, syncCalls: sync };
}

/**
 * A snapshot of greenio's counters.
 * @example
 * import { stats, spawn, sleep, joinAll } from 'greenio';
 * await joinAll([spawn(() => sleep(5)), spawn(() => sleep(5))]);
 * const s = stats();
 * console.log(s.greenlets.finished, s.io.sleep?.count, s.io.sleep?.avgMs);
 */
export function stats(): Stats {
  const io: Record<string, KindStats> = {};
  const total = { count: 0, totalMs: 0 };
  const syncCalls = { count: 0, totalMs: 0 };
  for (const k of hub.allKinds()) {
    if (k.count === 0 && k.active === 0 && k.dropped === 0) continue;
    io[k.name] = { count: k.count, totalMs: k.totalMs, avgMs: avg(k.totalMs, k.count), maxMs: k.maxMs, active: k.active, dropped: k.dropped };
    total.count += k.count;
    total.totalMs += k.totalMs;
    if (isSyncKind(k.name)) {
      syncCalls.count += k.count;
      syncCalls.totalMs += k.totalMs;
    }
  }
  const c = hub.counters;
  return {
    greenlets: { alive: c.alive, peak: c.peak, finished: c.finished, spawned: c.spawned },
    io,
    total,
    syncCalls,
    abandoned: { ...hub.abandonCounts },
    perGreenlet: perGreenlet as Stats['perGreenlet'],
  };
}

function perGreenlet(greenlet?: Greenlet): GreenletStats | GreenletStats[] {
  if (greenlet === undefined) return [hub.main, ...hub.liveGreenlets()].map((g) => greenletStats(g as Greenlet));
  if (!(greenlet instanceof hub.Core)) throw new TypeError(expected('greenlet', 'a Greenlet', greenlet));
  return greenletStats(greenlet);
}
