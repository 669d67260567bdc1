/**
 * Busy, idle and scheduled time per greenlet, for `greenio top`: switched on by the first
 * attach and off when the last client leaves, so it costs nothing otherwise. Busy is the
 * time its callbacks and promise reactions ran (async_hooks before/after, in its
 * context); idle the time spent in greenio waits (the hub's `io:end`); scheduled the time
 * from a wait's end to its next run. Limits: counted from the attach on; time spent in
 * code that runs outside any async callback of the greenlet (none in practice) is missed.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as hub from '../hub/index.js';
import { round } from './resources.js';

/** A greenlet's times since accounting began (ms). */
export interface SliceTimes {
  busyMs: number;
  idleMs: number;
  scheduledMs: number;
  /** Run slices (callbacks and promise reactions) counted. */
  slices: number;
  /** The longest run slice: time on the loop without a switch. */
  maxSliceMs: number;
  /** The longest wait to run once ready (loop saturation). */
  maxScheduledMs: number;
  /** Waits that were `sleep(0)`: yields that wait for nothing. */
  yields: number;
  /** Other waits (IO, timers, primitives, joins). */
  waits: number;
}

interface Acc {
  busy: number;
  idle: number;
  sched: number;
  slices: number;
  maxSlice: number;
  maxSched: number;
  yields: number;
  waits: number;
  /** When its last wait ended (0: not pending a run). */
  readyAt: number;
}

let accs = new WeakMap<hub.Core, Acc>();
let users = 0;
let hook: AsyncHook | null = null;
let depth = 0;
let cur: Acc | null = null;
let t0 = 0;

function accOf(g: hub.Core): Acc {
  let a = accs.get(g);
  if (a === undefined) accs.set(g, (a = { busy: 0, idle: 0, sched: 0, slices: 0, maxSlice: 0, maxSched: 0, yields: 0, waits: 0, readyAt: 0 }));
  return a;
}

function before(): void {
  if (++depth !== 1) return; // a callback run inside another: the outer one counts
  const f = hub.storedFlow();
  if (f === undefined) return;
  const a = accOf(f.greenlet);
  t0 = performance.now();
  if (a.readyAt !== 0) {
    const d = t0 - a.readyAt;
    a.sched += d;
    if (d > a.maxSched) a.maxSched = d;
    a.readyAt = 0;
  }
  cur = a;
}

function after(): void {
  // Enabled from inside a callback, the first `after` has no `before`.
  if (depth === 0 || --depth !== 0) return;
  if (cur === null) return;
  const d = performance.now() - t0;
  cur.busy += d;
  if (d > cur.maxSlice) cur.maxSlice = d;
  cur.slices++;
  cur = null;
}

function onIoEnd(message: unknown): void {
  const m = message as { greenlet: hub.Core; op: hub.AnyOp; durationMs: number };
  if (!m.op.isWait) return;
  const a = accOf(m.greenlet);
  if (m.op.kind.name === 'sleep' && m.op.detail === 0) a.yields++;
  else a.waits++;
  a.idle += m.durationMs;
  a.readyAt = performance.now();
}

/** Start accounting (one more attached client). */
export function startSlices(): void {
  if (users++ > 0) return;
  accs = new WeakMap();
  depth = 0;
  cur = null;
  hook = createHook({ before, after }).enable();
  subscribe('greenio:io:end', onIoEnd);
}

/** Stop accounting when the last client leaves. */
export function stopSlices(): void {
  if (users === 0 || --users > 0) return;
  hook?.disable();
  hook = null;
  unsubscribe('greenio:io:end', onIoEnd);
  cur = null;
}

/** A greenlet's times so far (idle includes the wait in progress), or null when off. */
export function timesOf(g: hub.Core, now = performance.now()): SliceTimes | null {
  if (users === 0) return null;
  const a = accs.get(g);
  let idle = a?.idle ?? 0;
  // The wait in progress (the oldest, when flows wait at once), not yet ended.
  let oldest = Infinity;
  for (const op of hub.opsOf(g)) if (op.isWait && op.since < oldest) oldest = op.since;
  if (oldest !== Infinity) idle += now - oldest;
  let busy = a?.busy ?? 0;
  if (a !== undefined && cur === a) busy += now - t0;
  return {
    busyMs: round(busy),
    idleMs: round(idle),
    scheduledMs: round(a?.sched ?? 0) + (a !== undefined && a.readyAt !== 0 ? round(now - a.readyAt) : 0),
    slices: a?.slices ?? 0,
    maxSliceMs: round(a?.maxSlice ?? 0),
    maxScheduledMs: round(a?.maxSched ?? 0),
    yields: a?.yields ?? 0,
    waits: a?.waits ?? 0,
  };
}
