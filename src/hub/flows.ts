/**
 * Which flow is running: the one AsyncLocalStorage naming the current flow (undefined
 * means the main greenlet), the main greenlet, the hub's start-up `configure()`, and the
 * doors that run code in a flow (`runIn`, `outside`, `enterFlow`) so nothing outside
 * src/hub/ touches the storage itself. Limit: a context Node does not propagate (a
 * native callback queue) runs in main.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Core, Flow, State, link, setup, unlink, SETTLED, type AnyOp } from './ops.js';

/** The storage naming the current flow: src/hub/ only (others use the doors below). */
export const als = new AsyncLocalStorage<Flow>();

/**
 * The main greenlet (code outside any spawned greenlet). greenlet.ts configures one with
 * the public methods when it loads; until then a bare core stands in.
 */
export let main: Core = new Core(true);
main.state = State.Running;

/** What the hub needs from the toolbox, given once at start by greenlet.ts (see `configure`). */
export interface HubSetup {
  /** The main greenlet: what runs outside any spawned greenlet is attributed to it. */
  main: Core;
  /** The error a blocking call's own `{ timeout }` of `ms` rejects with (a `TimeoutError`). */
  timeoutError(ms: number): Error;
  /** Called on a later turn when the killed `g` has no greenio wait left: abandon it if still alive. */
  abandonKilled(g: Core): void;
}

let configured = false;

/**
 * Configure the hub, once, before the first greenlet: greenlet.ts does it when it loads
 * (every entry, index.ts, monkey.ts and the preload, loads greenlet.ts).
 */
export function configure(s: HubSetup): void {
  if (configured) throw new Error('greenio: the hub is already configured');
  configured = true;
  s.main.state = State.Running;
  s.main.startedAt = Math.floor(performance.now());
  main = s.main;
  setup.timeoutError = s.timeoutError;
  setup.abandonKilled = s.abandonKilled;
}

/** The flow running now. */
export function currentFlow(): Flow {
  return als.getStore() ?? main;
}

/** The greenlet running now (the main greenlet outside any spawned one). */
export function currentCore(): Core {
  const f = als.getStore();
  return f === undefined ? main : f.greenlet;
}

/** The flow the current context names, or undefined in the main greenlet outside any flow. */
export function storedFlow(): Flow | undefined {
  return als.getStore();
}

/** Run `fn(...args)` in `flow`: its ops are the flow's, its interrupts reach them. */
export function runIn<A extends unknown[], R>(flow: Flow, fn: (...args: A) => R, ...args: A): R {
  return als.run(flow, fn, ...args);
}

/**
 * `process.nextTick(fn, arg)` in the context of `op`'s flow: the callback an interrupt hands
 * its error to runs where its call was made, as its normal completion would, not in the
 * interrupter's (so IO it starts to unwind, a ROLLBACK, is that flow's).
 */
export function tickIn(op: AnyOp, fn: (arg: never) => void, arg: unknown): void {
  als.run(op.flow, process.nextTick, fn as (arg: unknown) => void, arg);
}

/**
 * Run `fn(...args)` outside any flow, in the main greenlet: what it starts (a worker, a
 * pool's connection, a timer of greenio's own) belongs to no greenlet, so no kill of the
 * caller reaches it.
 */
export function outside<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
  // Not `als.exit()`: on Node 20 it disables the storage and enables it again, which takes
  // the process's async hooks off and puts them back (~4 µs a call, against ~0.1 µs).
  return als.run(NO_FLOW, fn, ...args);
}

/** The store of code outside any flow (`getStore()` gives undefined, as outside `run`). */
export const NO_FLOW = undefined as unknown as Flow;

/**
 * Make `flow` current for the rest of a promise reaction (a greenlet's first one): the
 * context of a reaction ends with it, so nothing needs restoring, and Node >= 24 then
 * builds one context frame where `runIn` builds two (the flow's, and the caller's again).
 * Only once `enterInJobReady()`: on Node 20 the storage must already track promises, or
 * the store would land on the loop's top-level resource instead of this reaction's.
 */
export function enterInJob(flow: Flow): void {
  als.enterWith(flow);
}

// Only where AsyncLocalStorage keeps context frames (Node >= 24 unless turned off): on Node
// 20's async_hooks storage, `run` builds no frame and the reaction's store costs more
// (callgrind, spawn + joinAll: 15,890 -> 18,721 instructions per greenlet).
const FRAMES = Number(process.versions.node.split('.')[0]) >= 24 && !`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.includes('--no-async-context-frame');
let tracking = false;
/** True where `enterInJob` pays, once the storage has been entered (so it tracks promises). */
export function enterInJobReady(): boolean {
  if (tracking) return FRAMES;
  tracking = true;
  return false;
}

/** Make `flow` the current flow for the rest of this synchronous run and what it schedules (a bare `Timeout` in main). */
export function enterFlow(flow: Flow): void {
  als.enterWith(flow);
}

/**
 * Move a tracked op (a handle) to the current flow: a socket accepted by a server is
 * handed to the greenlet that serves it, so killing that greenlet closes it.
 */
export function adopt(op: AnyOp, to: Flow = als.getStore() ?? main): void {
  if ((op.bits & SETTLED) !== 0) return;
  if (op.flow === to) return;
  unlink(op);
  if (op.res !== null) op.flow.greenlet.waitCount--;
  op.flow = to;
  op.kind.active--;
  link(op);
}

/** Every op a greenlet holds now, waits first. */
export function opsOf(g: Core): AnyOp[] {
  const out: AnyOp[] = [];
  const collect = (f: Flow): void => {
    if (f.ops instanceof Set) out.push(...f.ops);
    else if (f.ops !== null) out.push(f.ops);
  };
  collect(g);
  const subs = g.x === null ? null : g.x.subflows;
  if (subs !== null) for (const f of subs) collect(f);
  out.sort((a, b) => Number(b.isWait) - Number(a.isWait) || a.since - b.since);
  return out;
}
