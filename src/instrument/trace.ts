/**
 * A timeline trace of the program: greenlet lifetimes, every wait and tracked IO
 * operation, and blocking reports (sync calls, monitor stalls), as Chrome trace-event
 * JSON that Perfetto (ui.perfetto.dev) and chrome://tracing load: one track per
 * greenlet, waits coloured by kind, blocking reports as instant events. Built from the
 * `diagnostics_channel` messages, so nothing is paid while no trace runs.
 * Limits: ops are kept in memory until `stopTrace()` (capped by `maxOps`); an op that
 * overlaps another without nesting goes on an extra track of the same greenlet.
 */
import diagnostics from 'node:diagnostics_channel';
import * as hub from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import { detailText, greenletLabel } from '../hub/index.js';
import { checkInt, checkOptions } from '../internal/validate.js';
import type { BlockMessage, GreenletEndMessage, GreenletMessage, IoEndMessage } from './channels.js';

/** Phases of the trace-event format (greenio writes `X`, `i` and `M`). */
export type TracePhase = 'X' | 'B' | 'E' | 'i' | 'I' | 'M' | 'b' | 'e' | 'n' | 's' | 't' | 'f' | 'C' | 'P' | 'O' | 'N' | 'D' | 'R';

/** One Chrome trace event (the fields greenio writes). Times in microseconds. */
export interface TraceEvent {
  name: string;
  /** `X` complete, `i` instant, `M` metadata (`B`/`E` pairs from other tools are read too). */
  ph: TracePhase;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  cat?: string;
  /** A trace-viewer colour name, by category. */
  cname?: string;
  /** Scope of an instant event: `t` (its thread). */
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

/** Options of `startTrace()`. */
export interface TraceOptions {
  /** Keep at most this many ops; later ones are counted, not kept. Default 1,000,000. */
  maxOps?: number;
}

// Ops are logged in chunks: references in a plain array, times in a Float64Array, so
// that recording one allocates nothing (a double in an array would be a heap number).
const CHUNK = 8192;
interface Chunk {
  /** greenlet, kind, detail per op. */
  refs: unknown[];
  /** since, duration per op. */
  times: Float64Array;
  /** How each op ended: an index into OUTCOMES. */
  outcomes: Uint8Array;
  n: number;
}
const newChunk = (): Chunk => ({ refs: new Array<unknown>(CHUNK * 3), times: new Float64Array(CHUNK * 2), outcomes: new Uint8Array(CHUNK), n: 0 });
const OUTCOMES: readonly IoEndMessage['outcome'][] = ['ok', 'error', 'killed', 'timeout', 'abandoned'];
interface Life {
  start: number;
  end: number;
  ok: boolean;
  error: string;
}
interface Block {
  g: hub.Core | null;
  m: BlockMessage;
  /** When it was published: a sync call's end; a stall's end or just after it. */
  end: number;
}
interface State {
  t0: number;
  chunks: Chunk[];
  cur: Chunk;
  count: number;
  maxOps: number;
  dropped: number;
  /** One copy of each recent detail string (a socket's address is a new string per read). */
  interned: Map<string, string>;
  lives: Map<hub.Core, Life>;
  blocks: Block[];
}

let state: State | null = null;

function onStart(m: unknown): void {
  const g = (m as GreenletMessage).greenlet;
  state!.lives.set(g, { start: performance.now(), end: -1, ok: true, error: '' });
}
function onEnd(m: unknown): void {
  const { greenlet: g, ok, value } = m as GreenletEndMessage;
  const lives = state!.lives;
  let life = lives.get(g);
  if (life === undefined) lives.set(g, (life = { start: Math.max(state!.t0, g.startedAt), end: -1, ok, error: '' }));
  life.end = performance.now();
  life.ok = ok;
  if (!ok) life.error = value instanceof Error ? `${value.name}: ${value.message}` : String(value);
}
function onIoEnd(m: unknown): void {
  const s = state!;
  if (s.count >= s.maxOps) {
    s.dropped++;
    return;
  }
  let c = s.cur;
  if (c.n === CHUNK) s.chunks.push((c = s.cur = newChunk()));
  const e = m as IoEndMessage;
  let d = e.detail;
  // Objects are described now (a queue as it was when the wait ended).
  if (d !== null && typeof d === 'object') d = detailText(d);
  if (typeof d === 'string') {
    const known = s.interned.get(d);
    if (known !== undefined) d = known;
    else if (s.interned.size < 4096) s.interned.set(d, d);
  }
  const i = c.n++;
  c.refs[i * 3] = e.greenlet;
  c.refs[i * 3 + 1] = e.op.kind;
  c.refs[i * 3 + 2] = d;
  c.times[i * 2] = e.op.since;
  c.times[i * 2 + 1] = e.durationMs;
  const o = OUTCOMES.indexOf(e.outcome);
  c.outcomes[i] = o < 0 ? 0 : o;
  s.count++;
}
function onBlock(m: unknown): void {
  const b = m as BlockMessage;
  state!.blocks.push({ g: b.greenlet, m: b, end: performance.now() });
}

const SUBS: Array<[string, (m: unknown) => void]> = [
  ['greenio:greenlet:start', onStart],
  ['greenio:greenlet:end', onEnd],
  ['greenio:io:end', onIoEnd],
  ['greenio:block', onBlock],
];

/**
 * Start recording a trace. No-op if one is recording.
 * @example
 * import { startTrace, stopTrace, spawn, sleep } from 'greenio';
 * import { writeFileSync } from 'node:fs';
 * startTrace();
 * await spawn(() => sleep(10)).join();
 * writeFileSync('trace.json', JSON.stringify({ traceEvents: stopTrace() }));
 */
export function startTrace(options?: TraceOptions): void {
  const o = checkOptions('options', options);
  const maxOps = o.maxOps ?? 1_000_000;
  checkInt('maxOps', maxOps, 0);
  if (state !== null) return;
  const t0 = performance.now();
  const first = newChunk();
  state = { t0, chunks: [first], cur: first, count: 0, maxOps, dropped: 0, interned: new Map(), lives: new Map(), blocks: [] };
  for (const g of [hub.main, ...hub.liveGreenlets()]) state.lives.set(g, { start: Math.max(t0, g.startedAt), end: -1, ok: true, error: '' });
  for (const [name, fn] of SUBS) diagnostics.subscribe(name, fn);
}

/** True while a trace is recording. */
export function isTracing(): boolean {
  return state !== null;
}

/**
 * Stop recording and return the trace events (`[]` if none was recording). Write them
 * as `JSON.stringify(events)` or `{ traceEvents: events }`.
 * @example
 * import { startTrace, stopTrace } from 'greenio';
 * startTrace();
 * const events = stopTrace();
 * console.log(events.filter((e) => e.ph === 'M').map((e) => e.args?.name));
 */
export function stopTrace(): TraceEvent[] {
  const s = state;
  if (s === null) return [];
  for (const [name, fn] of SUBS) diagnostics.unsubscribe(name, fn);
  state = null;
  return build(s, performance.now());
}

/** The colour group of a kind: `fs`, `net`, `dns`, `http`, `child_process`, `timer`, `sync`, `stream`, `block`. */
export function kindCategory(kind: string): string {
  const head = kind.split(/[. ]/, 1)[0]!;
  if (head === 'fs' || head === 'FileHandle' || head === 'net' || head === 'dns' || head === 'child_process') return head === 'FileHandle' ? 'fs' : head;
  if (head === 'http' || head === 'fetch' || head === 'undici') return 'http';
  if (head === 'sleep' || head === 'timer' || head === 'interval' || head === 'immediate' || head === 'idle') return 'timer';
  if (head === 'stream' || kind === 'event' || kind.startsWith('event ')) return 'stream'; // not `event.wait`
  if (/Sync$/.test(kind)) return 'block';
  return 'sync'; // queue, lock, event, join, pool, future: waits on other greenlets
}

const CNAME: Record<string, string> = {
  fs: 'thread_state_iowait', net: 'rail_response', dns: 'rail_animation', http: 'rail_load', child_process: 'startup',
  timer: 'thread_state_sleeping', sync: 'yellow', stream: 'rail_idle', block: 'terrible', greenlet: 'thread_state_running',
};

interface Interval {
  s: number;
  e: number;
  ev: TraceEvent;
}

// Microseconds, to the nanosecond (performance.now() is no finer).
const us = (ms: number): number => Math.round(ms * 1e6) / 1e3;

function build(s: State, stop: number): TraceEvent[] {
  const pid = process.pid;
  const per = new Map<hub.Core, Interval[]>();
  const add = (g: hub.Core, start: number, end: number, ev: TraceEvent): void => {
    let list = per.get(g);
    if (list === undefined) per.set(g, (list = []));
    const e = Math.max(start, end);
    // Both ends rounded first, so a nested slice never pokes out of its parent by rounding.
    ev.ts = us(start);
    ev.dur = us(e) - ev.ts;
    list.push({ s: start, e, ev });
  };
  const opEvent = (g: hub.Core, kind: hub.Kind, detail: unknown, since: number, dur: number, unfinished: boolean, outcome = 0): void => {
    const cat = kindCategory(kind.name);
    const args: Record<string, unknown> = { greenlet: g.id, detail: detailText(detail) };
    if (unfinished) args.unfinished = true;
    // No `outcome` means it completed ('ok'): a million ops should not each say so.
    else if (outcome !== 0) args.outcome = OUTCOMES[outcome];
    // An await a kill or timeout could not reach stands out, whatever its kind's colour.
    const cname = outcome === 4 ? 'terrible' : CNAME[cat];
    add(g, since, since + dur, { name: kind.name, cat, cname, ph: 'X', ts: 0, pid, tid: 0, args });
  };
  for (const [g, life] of s.lives) {
    const gl = g as Greenlet;
    const end = life.end < 0 ? stop : life.end;
    const args: Record<string, unknown> = { id: g.id, name: gl.name, fn: gl.fnName, outcome: life.end < 0 ? 'alive' : life.ok ? 'ok' : 'error' };
    if (gl.parent) args.parent = greenletLabel(gl.parent);
    if (life.error) args.error = life.error;
    add(g, life.start, end, { name: greenletLabel(g), cat: 'greenlet', cname: CNAME.greenlet, ph: 'X', ts: 0, pid, tid: 0, args });
  }
  for (const c of s.chunks) {
    for (let i = 0; i < c.n; i++) opEvent(c.refs[i * 3] as hub.Core, c.refs[i * 3 + 1] as hub.Kind, c.refs[i * 3 + 2], c.times[i * 2]!, c.times[i * 2 + 1]!, false, c.outcomes[i]!);
  }
  // Ops still in flight: drawn up to the stop.
  for (const g of [hub.main, ...hub.liveGreenlets()]) {
    for (const op of hub.opsOf(g)) if (op.since >= s.t0) opEvent(g, op.kind, op.detail, op.since, stop - op.since, true);
  }
  const instants: Array<[hub.Core, TraceEvent]> = [];
  for (const b of s.blocks) {
    const g = b.g ?? hub.main;
    // A stall is published when the loop turns again, just after it: it ended by the time
    // the greenlet that ran it did.
    const life = s.lives.get(g);
    const end = life !== undefined && life.end >= 0 && life.end < b.end ? life.end : b.end;
    const start = end - b.m.durationMs;
    const name = b.m.type === 'sync' ? `blocked: ${b.m.call}` : 'blocked: event loop stall';
    const args: Record<string, unknown> = { type: b.m.type, durationMs: b.m.durationMs, site: b.m.site, stack: b.m.stack, greenlet: b.g === null ? null : b.g.id };
    if (b.m.type === 'sync') args.call = b.m.call;
    add(g, start, end, { name, cat: 'block', cname: CNAME.block, ph: 'X', ts: 0, pid, tid: 0, args });
    instants.push([g, { name, cat: 'block', cname: CNAME.block, ph: 'i', s: 't', ts: us(start), pid, tid: 0, args }]);
  }
  const script = process.argv[1] ?? '';
  const out: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: `greenio ${script}`.trim() } }];
  const greenlets = [...per.keys()].sort((a, b) => a.id - b.id);
  let nextTid = greenlets.reduce((m, g) => Math.max(m, g.id), 0) + 2;
  const tidOf = new Map<hub.Core, number>();
  greenlets.forEach((g, rank) => {
    const lanes = assignLanes(per.get(g)!);
    lanes.forEach((lane, li) => {
      const tid = li === 0 ? g.id + 1 : nextTid++;
      if (li === 0) tidOf.set(g, tid);
      const name = li === 0 ? greenletLabel(g) : `${greenletLabel(g)} [${li + 1}]`;
      out.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name, greenlet: g.id, lane: li } });
      out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid, args: { sort_index: rank * 1000 + li } });
      for (const iv of lane) out.push({ ...iv.ev, tid });
    });
  });
  for (const [g, ev] of instants) out.push({ ...ev, tid: tidOf.get(g)! });
  if (s.dropped > 0) out.push({ name: 'dropped_ops', ph: 'M', ts: 0, pid, tid: 0, args: { count: s.dropped } });
  return out;
}

/**
 * Put intervals on as few lanes as possible so that, within a lane, each either nests
 * inside the one open before it or starts after it ended (what trace viewers require).
 */
function assignLanes(list: Interval[]): Interval[][] {
  // The lifetime first (it is the widest), then by start, longer first.
  list.sort((a, b) => Number(b.ev.cat === 'greenlet') - Number(a.ev.cat === 'greenlet') || a.s - b.s || b.e - a.e);
  const lanes: Interval[][] = [];
  const open: number[][] = []; // per lane: ends of the intervals still open, innermost last
  for (const iv of list) {
    let placed = false;
    for (let i = 0; i < lanes.length && !placed; i++) {
      const stack = open[i]!;
      while (stack.length > 0 && stack[stack.length - 1]! <= iv.s) stack.pop();
      if (stack.length === 0 || stack[stack.length - 1]! >= iv.e) {
        stack.push(iv.e);
        lanes[i]!.push(iv);
        placed = true;
      }
    }
    if (!placed) {
      lanes.push([iv]);
      open.push([iv.e]);
    }
  }
  return lanes;
}
