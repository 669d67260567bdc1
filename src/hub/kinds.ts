/**
 * Kinds of waits (`'sleep'`, `'fs.readFile'`, `'queue.get'`), interned once, with their
 * process-wide totals, and the per-greenlet IO totals the hub adds to as ops end.
 * Limits: times are wall-clock wait times (from the op's start to its end), not CPU time.
 */

/** What a greenlet holds of its IO totals (ops.ts `Core.io`); kept structural so kinds stays below the core. */
export interface IoTotals {
  io: number[] | null;
}

/** A kind of wait (`'sleep'`, `'fs.readFile'`, `'queue.get'`) and its totals. */
export interface Kind {
  readonly name: string;
  /** A dense index, for per-greenlet tables. */
  readonly index: number;
  /**
   * A long-lived handle (socket, child, server) rather than a wait: a Timeout aborts it
   * only if it was created inside the Timeout's reach (after it started).
   */
  readonly resource: boolean;
  /**
   * Aborted by a kill only, never by a Timeout: a plain timer callback, which a
   * Timeout could only clear (leaving whatever waits on it stuck forever).
   */
  readonly killOnly: boolean;
  count: number;
  totalMs: number;
  maxMs: number;
  active: number;
  /** Results that arrived after their op was cancelled, and were dropped. */
  dropped: number;
  /** A wait on something a greenlet holds (a lock, a greenlet to join): an edge of the wait-for graph. */
  edge: boolean;
}

const kinds = new Map<string, Kind>();
const kindList: Kind[] = [];

/** How a kind of op is aborted (see `Kind`). */
export interface KindOptions {
  resource?: boolean;
  killOnly?: boolean;
}

/** The interned `Kind` named `name` (created on first use; options count on first use only). */
export function kind(name: string, options?: KindOptions | boolean): Kind {
  let k = kinds.get(name);
  if (k === undefined) {
    const o = typeof options === 'boolean' ? { resource: options } : options ?? {};
    k = { name, index: kindList.length, resource: o.resource === true, killOnly: o.killOnly === true, count: 0, totalMs: 0, maxMs: 0, active: 0, dropped: 0, edge: false };
    kinds.set(name, k);
    kindList.push(k);
  }
  return k;
}

// Twins by the index they share with their kind (see `twinKind`).
const twins = new Map<number, Kind[]>();

/**
 * A second `Kind` for waits of `k`'s name that differ from `k`'s in `edge` only (a counting
 * semaphore's acquire beside a lock's): the same name and index (so a greenlet's IO rows
 * merge), its own totals, which `allKinds()` adds to `k`'s. The hub reads a fixed flag per
 * wait, so no caller sets a shared one before each wait.
 */
export function twinKind(k: Kind, edge: boolean): Kind {
  const t: Kind = { name: k.name, index: k.index, resource: k.resource, killOnly: k.killOnly, count: 0, totalMs: 0, maxMs: 0, active: 0, dropped: 0, edge };
  const list = twins.get(k.index);
  if (list === undefined) twins.set(k.index, [t]);
  else list.push(t);
  return t;
}

/** Every kind seen so far, in order of first use (a kind with twins: a snapshot of the sums). */
export function allKinds(): readonly Kind[] {
  if (twins.size === 0) return kindList;
  return kindList.map((k) => {
    const ts = twins.get(k.index);
    if (ts === undefined) return k;
    const s = { ...k };
    for (const t of ts) {
      s.count += t.count;
      s.totalMs += t.totalMs;
      if (t.maxMs > s.maxMs) s.maxMs = t.maxMs;
      s.active += t.active;
      s.dropped += t.dropped;
    }
    return s;
  });
}

/** Add one op of `k` lasting `ms` to the kind's and the greenlet's totals. */
export function account(k: Kind, g: IoTotals, ms: number): void {
  k.count++;
  k.totalMs += ms;
  if (ms > k.maxMs) k.maxMs = ms;
  const io = (g.io ??= [0, 0]);
  io[0]!++;
  io[1]! += ms;
  // A greenlet uses few kinds: a short linear list beats a table sized by every kind.
  let i = 2;
  while (i < io.length && io[i] !== k.index) i += 4;
  if (i >= io.length) io.push(k.index, 0, 0, 0);
  io[i + 1]!++;
  io[i + 2]! += ms;
  if (ms > io[i + 3]!) io[i + 3] = ms;
}

/** A greenlet's IO totals by kind: `[kind, count, totalMs, maxMs]` rows. */
export function ioOf(g: IoTotals): Array<{ kind: Kind; count: number; totalMs: number; maxMs: number }> {
  const io = g.io;
  const out: Array<{ kind: Kind; count: number; totalMs: number; maxMs: number }> = [];
  if (io === null) return out;
  for (let i = 2; i < io.length; i += 4) out.push({ kind: kindList[io[i]!]!, count: io[i + 1]!, totalMs: io[i + 2]!, maxMs: io[i + 3]! });
  return out;
}

