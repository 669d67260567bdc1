/**
 * The snapshot `greenio ps --json` prints (schema `greenio.ps/3`, documented in the
 * README), also `formatRunInfo({ json: true })`: every live greenlet with its parent,
 * state, waits and handles, the resources in use, recent deadlocks and leaked waits, and totals per kind
 * of wait; and `formatPs()`, the text view of a snapshot (the CLI renders it on its
 * side). Limits: spawn stacks only with `config.trackGreenletTree` (else the site where
 * the greenlet's function is defined, read at snapshot time); details are rendered as
 * run-info renders them (redacted the same way).
 */
import * as hub from '../hub/index.js';
import { config } from '../internal/config.js';
import type { Greenlet } from '../greenlet.js';
import type { DeadlockEdge } from '../errors.js';
import { opText, ms as fmtMs } from '../hub/index.js';
import { resourceId, resourceOf, round, snapshotResources, type ResourceInfo } from './resources.js';
import { deadlocks } from './deadlock.js';
import { leaks } from './leaks.js';
import { timesOf, type SliceTimes } from './slices.js';
import { functionSite } from '../internal/unreachable.js';

/**
 * The version of the snapshot's shape: the number goes up by one with each field added
 * (2: `leaks[]`, `resources[].leaked`; 3: `greenlets[].fnSite`); no field is removed or
 * changes meaning under `greenio.ps`, so a reader of version N reads any later one.
 */
export const PS_SCHEMA = 'greenio.ps/3';

/** One wait or owned operation of a greenlet. */
export interface PsOp {
  kind: string;
  /** What it waits on, as run-info shows it: `sleep 100ms`, `queue.get <Queue size=0 ...>`. */
  text: string;
  forMs: number;
  /** The resource waited on (an id of `resources`), if it is one. */
  resource: number | null;
  /** Sub-flow depth: 0 in the greenlet itself, 1 inside a `withTimeout`, ... */
  depth: number;
}

/** One greenlet of a snapshot. */
export interface PsGreenlet {
  id: number;
  name: string;
  fn: string | null;
  /** The nearest live ancestor (0: main; null for main itself). */
  parent: number | null;
  state: 'running' | 'waiting' | 'suspended' | 'scheduled' | 'created' | 'dead';
  upMs: number | null;
  waits: PsOp[];
  /** Handles (sockets, servers, children) and callback IO in flight. */
  owns: PsOp[];
  /** Frames of the spawn site (with `config.trackGreenletTree`), else null. */
  spawnedAt: string[] | null;
  /**
   * Where its function is defined, `file:line:column` (schema 3): read when the snapshot
   * is taken, once per function, with no set-up; null for main, a native or bound function.
   */
  fnSite: string | null;
  /** Busy, idle and scheduled time since `greenio top` attached (null when not measured). */
  times: SliceTimes | null;
}

/** A leaked wait: its greenlet, what it waited on, since when, where its function is. */
export interface PsLeak {
  greenlet: number;
  label: string;
  waitsOn: string;
  kind: string;
  /** How long it had waited when the leak was found, and how long ago that was. */
  waitedMs: number;
  agoMs: number;
  site: string | null;
}

/** The whole snapshot. */
export interface PsSnapshot {
  schema: typeof PS_SCHEMA;
  pid: number;
  node: string;
  /** ISO time of the snapshot. */
  time: string;
  uptimeMs: number;
  /** The process's `config.maxBlockingTime`: `top` warns of a run slice longer than this. */
  maxBlockingMs: number;
  counters: { alive: number; peak: number; finished: number; spawned: number };
  greenlets: PsGreenlet[];
  resources: ResourceInfo[];
  deadlocks: Array<{ agoMs: number; cycle: DeadlockEdge[] }>;
  /** Waits on an Event or AsyncResult collected while they waited (schema 2): nothing can wake them. */
  leaks: PsLeak[];
  /** Process-wide totals per kind of wait: waiting now, ended, total ms. */
  kinds: Array<{ kind: string; active: number; count: number; totalMs: number }>;
}

/** Options of `snapshot()`. */
export interface SnapshotOptions {
  /** Include spawn stacks (default true). */
  stacks?: boolean;
}

function stateOf(g: hub.Core): PsGreenlet['state'] {
  if (g.state === hub.State.Dead) return 'dead';
  if (g.state === hub.State.Created) return 'created';
  if (g.state === hub.State.Scheduled) return 'scheduled';
  if (hub.currentCore() === g) return 'running';
  return g.waitCount > 0 ? 'waiting' : 'suspended';
}

function depthOf(f: hub.Flow): number {
  let d = 0;
  for (let x = f.outer; x !== null; x = x.outer) d++;
  return d;
}

/**
 * The program now, as plain data (JSON-ready): what `greenio ps --json` prints.
 * @example
 * import { snapshot, spawn, sleep } from 'greenio';
 * const g = spawn(async function poll() { await sleep(1000); });
 * await sleep(0);
 * const s = snapshot();
 * console.log(s.greenlets.find((x) => x.id === g.id)?.waits[0]?.text); // 'sleep 1000ms'
 * await g.kill();
 */
export function snapshot(options: SnapshotOptions = {}): PsSnapshot {
  const now = performance.now();
  const live = hub.liveGreenlets() as Greenlet[];
  const main = hub.main as Greenlet;
  const alive = new Set<hub.Core>(live);
  const all = [main, ...live];
  const greenlets = all.map((g): PsGreenlet => {
    let p: Greenlet | null = g.parent;
    while (p !== null && p !== main && !alive.has(p)) p = p.parent;
    const waits: PsOp[] = [];
    const owns: PsOp[] = [];
    for (const op of hub.opsOf(g)) {
      const res = resourceOf(op);
      const row: PsOp = { kind: op.kind.name, text: opText(op), forMs: round(now - op.since), resource: res === null ? null : resourceId(res), depth: depthOf(op.flow) };
      (op.isWait ? waits : owns).push(row);
    }
    const stacks = options.stacks !== false;
    const stack = stacks ? g.spawnStack : undefined;
    return {
      id: g.id,
      name: g.name,
      fn: g.fnName || null,
      parent: g.isMain ? null : (p ?? main).id,
      state: stateOf(g),
      upMs: g.startedAt > 0 ? round(now - g.startedAt) : null,
      waits,
      owns,
      spawnedAt: stack ? stack.split('\n').map((l) => l.trim().replace(/^at /, '')) : null,
      fnSite: stacks ? siteOf(g) : null,
      times: timesOf(g, now),
    };
  });
  const c = hub.counters;
  return {
    schema: PS_SCHEMA,
    pid: process.pid,
    node: process.version,
    time: new Date().toISOString(),
    uptimeMs: round(process.uptime() * 1000),
    maxBlockingMs: config.maxBlockingTime,
    counters: { alive: c.alive, peak: c.peak, finished: c.finished, spawned: c.spawned },
    greenlets,
    resources: snapshotResources(all, now),
    deadlocks: deadlocks.map((d) => ({ agoMs: round(now - d.at), cycle: d.cycle })),
    leaks: leaksNow(now),
    kinds: hub.allKinds().filter((k) => k.count > 0 || k.active > 0).map((k) => ({ kind: k.name, active: k.active, count: k.count, totalMs: round(k.totalMs) })),
  };
}

/** Where `g`'s function is defined, or null (main has none). Cached per function by functionSite. */
export function siteOf(g: hub.Core): string | null {
  if (g.isMain) return null;
  return functionSite((g as Greenlet)._fn) || null;
}

/** The text line of a greenlet's site: its spawn stack's first frames, else its function's site. */
export function siteLine(g: Pick<PsGreenlet, 'spawnedAt' | 'fnSite' | 'fn'>): string | null {
  if (g.spawnedAt) return `spawned at: ${g.spawnedAt.slice(0, 3).join(' < ')}`;
  return g.fnSite ? `fn ${g.fn ?? '(anonymous)'} at ${g.fnSite}` : null;
}

function leaksNow(now: number): PsLeak[] {
  return leaks.map((l) => ({ greenlet: l.greenlet, label: l.label, waitsOn: l.waitsOn, kind: l.kind, waitedMs: round(l.at - l.since), agoMs: round(now - l.at), site: l.site }));
}

/** `#3 reader (readFifo)`. */
export function psTitle(g: PsGreenlet): string {
  return `#${g.id} ${g.name}${g.fn ? ` (${g.fn})` : ''}`;
}

/**
 * The text of `greenio ps PID`: the spawn tree, then resources and deadlocks.
 * @example
 * import { formatPs, snapshot } from 'greenio';
 * process.stderr.write(formatPs(snapshot()));
 */
export function formatPs(s: PsSnapshot): string {
  const out = [`greenio ps, pid ${s.pid} (node ${s.node}), ${s.time}: ${s.counters.alive} greenlet(s) alive (peak ${s.counters.peak}, finished ${s.counters.finished})`];
  const kids = new Map<number, PsGreenlet[]>();
  for (const g of s.greenlets) {
    if (g.parent === null) continue;
    let l = kids.get(g.parent);
    if (l === undefined) kids.set(g.parent, (l = []));
    l.push(g);
  }
  const visit = (g: PsGreenlet, head: string, body: string): void => {
    out.push(`${head}${psTitle(g)} [${g.state}${g.upMs !== null ? `, up ${fmtMs(g.upMs)}` : ''}]`);
    for (const w of g.waits) out.push(`${body}  ${'  '.repeat(w.depth)}waits on: ${w.text} (for ${fmtMs(w.forMs)})`);
    for (const w of g.owns) out.push(`${body}  ${'  '.repeat(w.depth)}owns: ${w.text} (for ${fmtMs(w.forMs)})`);
    const site = siteLine(g);
    if (site !== null) out.push(`${body}  ${site}`);
    const list = kids.get(g.id) ?? [];
    list.forEach((k, i) => {
      const last = i === list.length - 1;
      visit(k, `${body}${last ? '└─ ' : '├─ '}`, `${body}${last ? '   ' : '│  '}`);
    });
  };
  const root = s.greenlets.find((g) => g.parent === null);
  if (root !== undefined) visit(root, '', '');
  out.push(...formatResources(s));
  return `${out.join('\n')}\n`;
}

/** The resources and deadlocks sections of run-info's text. */
export function resourceLines(): string[] {
  const all = [hub.main, ...hub.liveGreenlets()] as Greenlet[];
  const greenlets = all.map((g) => ({ id: g.id, name: g.name, fn: g.fnName || null }) as PsGreenlet);
  const now = performance.now();
  return formatResources({ resources: snapshotResources(all, now), deadlocks: deadlocks.map((d) => ({ agoMs: round(now - d.at), cycle: d.cycle })), leaks: leaksNow(now), greenlets });
}

/** The resources and deadlocks sections of `ps`, `top` and run-info. */
export function formatResources(s: Pick<PsSnapshot, 'resources' | 'deadlocks' | 'greenlets'> & { leaks?: PsLeak[] }, compact = false): string[] {
  const out: string[] = [];
  const label = new Map(s.greenlets.map((g) => [g.id, `${g.name}${g.fn ? ` (${g.fn})` : ''} [#${g.id}]`]));
  const who = (id: number): string => label.get(id) ?? `[#${id}, dead]`;
  if (s.resources.length > 0) {
    out.push(`resources (${s.resources.length}):`);
    for (const r of s.resources) {
      out.push(`  R${r.id} ${r.state}${r.leaked ? ' (leaked: nothing can reach it)' : ''}`);
      for (const h of r.holders) out.push(`    held by ${who(h.greenlet)}${h.dead ? ' (dead)' : ''} for ${fmtMs(h.forMs)}`);
      if (compact && r.waiters.length > 3) {
        const longest = Math.max(...r.waiters.map((w) => w.forMs));
        out.push(`    ${r.waiters.length} waiting (the longest for ${fmtMs(longest)}): ${r.waiters.slice(0, 3).map((w) => `[#${w.greenlet}]`).join(', ')}, …`);
      } else {
        for (const w of r.waiters) out.push(`    waited on by ${who(w.greenlet)} (${w.kind}) for ${fmtMs(w.forMs)}`);
      }
    }
  }
  for (const d of s.deadlocks) {
    out.push(`deadlock (${fmtMs(d.agoMs)} ago):`);
    for (const e of d.cycle) out.push(`  ${e.label} waits on ${e.waitsOn}${e.site ? ` at ${e.site}` : ''}`);
  }
  // A snapshot of schema 1 (an older greenio attached to) has no leaks.
  for (const l of s.leaks ?? []) {
    out.push(`leaked (found ${fmtMs(l.agoMs)} ago): ${l.label} waits on ${l.waitsOn} (${l.kind}, for ${fmtMs(l.waitedMs)} then)${l.site ? ` at ${l.site}` : ''}`);
  }
  return out;
}

