/**
 * The diagnostics_channel channels greenio publishes on: the plain `greenio:*` channels
 * (API.md names) and the TracingChannels `tracing:greenio.greenlet|wait|client|job|task:*`. Kept
 * below the hub so the hub publishes without importing the instrumentation layer. Each
 * publish point checks `hasSubscribers` first, so nothing is built when nobody listens.
 * Limits: stores bound to the greenlet channel are entered for a greenlet's body; waits
 * and client operations publish `start` without entering stores (the op is already begun).
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { watchSubscribers } from './subscribers.js';

/** How a traced operation ended (a greenlet, a wait, a client operation). */
export type TraceOutcome = 'ok' | 'error' | 'killed' | 'timedOut' | 'abandoned';

/** The greenlet fields the tracing contexts read (structural: the hub sits below greenlet.ts). */
interface TracedGreenlet {
  readonly id: number;
  readonly name?: string;
  readonly fnName?: string;
  readonly spawnStack?: string | undefined;
  readonly parent?: { readonly id: number } | null;
  readonly killed: Error | null;
  readonly x: { readonly abandoned: boolean } | null;
}

/** What every tracing context carries about the greenlet concerned. */
export interface TraceGreenletFields {
  /** The greenlet (live object: valid while the subscriber runs; do not keep it). */
  readonly greenlet: object;
  /** Its `id`, `name` (read when the operation began) and its parent's id (null for main). */
  readonly id: number;
  readonly name: string;
  readonly parentId: number | null;
  /** Set before `error`/`asyncStart`: how the operation ended. */
  outcome: TraceOutcome | undefined;
  /**
   * Set before `error` (published only then): what the operation failed with: a greenlet's
   * error, a wait's rejection, or the interrupt that ended it (a kill's `GreenletExit`, a
   * Timeout's `TimeoutError`, the kill error of an abandoned greenlet).
   */
  error?: unknown;
}

/** The context object of `tracing:greenio.greenlet:*`, one per greenlet run. */
export interface GreenletTraceContext extends TraceGreenletFields {
  readonly kind: 'greenlet';
  /** The name of the function it runs (`''` for an anonymous one). */
  readonly detail: string;
  /** Its spawn site (with `config.trackGreenletTree`), else undefined. */
  readonly site: string | undefined;
  /** Set before `asyncStart`: its value when it finished (a `GreenletExit` when killed). */
  result?: unknown;
}

/** The context object of `tracing:greenio.job:*`, one per BullMQ job run by a `GreenWorker`. */
export interface JobTraceContext {
  readonly kind: 'bullmq.job';
  /** The queue's name, the job's id and name, and which attempt this is (1 for the first). */
  readonly queue: string;
  readonly jobId: string;
  readonly detail: string;
  readonly attempt: number;
  /** The BullMQ `Job` (live object). */
  readonly job: object;
  /** The job's greenlet, once created (it starts inside the job's stores). */
  greenlet: object | undefined;
  /** Set before `error`/`asyncStart`: `'killed'` for a cancelled job or one put back by `close()`. */
  outcome: TraceOutcome | undefined;
  /** Set by the channel: the job's result, or its error. */
  result?: unknown;
  error?: unknown;
}

/** The context object of `tracing:greenio.task:*`, one per map task of a Group or Pool. */
export interface TaskTraceContext {
  /** `'group.map'` (`map`) or `'group.imap'` (`imap`, `imapUnordered`). */
  readonly kind: 'group.map' | 'group.imap';
  /** The Group or Pool (its description, e.g. `<Pool 3/10>`). */
  readonly pool: string;
  /** The item's place in the input, from 0 (the item itself is not shown: it may hold secrets). */
  readonly index: number;
  /** The task's greenlet (live object), set as the task starts. */
  greenlet: object | undefined;
  /** Set before `error`/`asyncStart`. */
  outcome: TraceOutcome | undefined;
  /** Set by the channel: the task's result, or its error. */
  result?: unknown;
  error?: unknown;
}

/** The context object of `tracing:greenio.wait:*` and `tracing:greenio.client:*`, one per op. */
export interface OpTraceContext extends TraceGreenletFields {
  /** The kind (`'sleep'`, `'queue.get'`, `'fs.readFile'`, `'pg.query'`). */
  readonly kind: string;
  /** What is waited on: a duration, a path, a queue, a query. */
  readonly detail: unknown;
  /** True for a wait the greenlet blocks on; false for callback IO or a handle it holds. */
  readonly isWait: boolean;
  /** Set before `asyncStart`: how long it lasted, in ms. */
  durationMs: number | undefined;
  /** Set before `error` when an interrupt could not undo it (`not cancelled on the server: …`). */
  note?: string;
}

// ---------------------------------------------------------------------------------
// The channels.

const spawnPlain = diagnostics.channel('greenio:greenlet:spawn');
const startPlain = diagnostics.channel('greenio:greenlet:start');
const endPlain = diagnostics.channel('greenio:greenlet:end');
const ioStartPlain = diagnostics.channel('greenio:io:start');
const ioEndPlain = diagnostics.channel('greenio:io:end');
export const blockChannel = diagnostics.channel('greenio:block');

/** The plain `greenio:*` channel objects users subscribe to (src/instrument/channels.ts). */
export const plainChannels = {
  spawn: spawnPlain,
  start: startPlain,
  end: endPlain,
  ioStart: ioStartPlain,
  ioEnd: ioEndPlain,
  block: blockChannel,
} as const;

/**
 * One event channel of a greenio TracingChannel, written out rather than @types/node's
 * `Channel<…>`: @types/node 26 swapped that class's type parameters (20–24:
 * `<Store, Context>`, 26: `<Context, Store>`), so naming them in the published types breaks
 * one side or the other.
 */
export interface TraceEventChannel<C extends object> {
  readonly hasSubscribers: boolean;
  publish(context: C): void;
  subscribe(onMessage: (context: C, name: string | symbol) => void): void;
  unsubscribe(onMessage: (context: C, name: string | symbol) => void): boolean;
  bindStore<S>(store: AsyncLocalStorage<S>, transform?: (context: C) => S): void;
  unbindStore<S>(store: AsyncLocalStorage<S>): boolean;
  runStores<T, A extends unknown[]>(context: C, fn: (...args: A) => T, thisArg?: unknown, ...args: A): T;
}
/** The handlers `subscribe` takes, each optional. */
export interface TraceSubscribers<C extends object> {
  start?(context: C): void;
  end?(context: C): void;
  asyncStart?(context: C): void;
  asyncEnd?(context: C): void;
  error?(context: C): void;
}
/** A greenio TracingChannel (`diagnostics_channel.tracingChannel(name)` of the same name gives the same channels). */
export interface GreenioTracingChannel<C extends object> {
  readonly hasSubscribers: boolean;
  readonly start: TraceEventChannel<C>;
  readonly end: TraceEventChannel<C>;
  readonly asyncStart: TraceEventChannel<C>;
  readonly asyncEnd: TraceEventChannel<C>;
  readonly error: TraceEventChannel<C>;
  subscribe(subscribers: TraceSubscribers<C>): void;
  unsubscribe(subscribers: TraceSubscribers<C>): boolean;
  tracePromise<T>(fn: () => Promise<T>, context: C): Promise<T>;
}
// The one cast: Node's object is this shape whatever @types/node says of its generics.
const tracing = <C extends object>(name: string): GreenioTracingChannel<C> =>
  diagnostics.tracingChannel(name) as unknown as GreenioTracingChannel<C>;

/** `tracing:greenio.greenlet:*`: a greenlet's body runs between start and end; asyncEnd at its death. */
export const greenletTracing = tracing<GreenletTraceContext>('greenio.greenlet');
/** `tracing:greenio.wait:*`: every hub op (wait, callback IO, handle) not of a client library. */
export const waitTracing = tracing<OpTraceContext>('greenio.wait');
/** `tracing:greenio.client:*`: the operations of patched client libraries (pg, mysql2, redis, ioredis) and HTTP requests (fetch, http(s).request, undici). */
export const clientTracing = tracing<OpTraceContext>('greenio.client');

/** `tracing:greenio.job:*`: a BullMQ job run by a `GreenWorker` (`tracePromise` around it: its greenlet starts inside). */
export const jobTracing = tracing<JobTraceContext>('greenio.job');

/** `tracing:greenio.task:*`: a map task of `Group`/`Pool` `map`, `imap`, `imapUnordered` (`tracePromise` around its function, in its greenlet). */
export const taskTracing = tracing<TaskTraceContext>('greenio.task');

// Client operations: the client libraries' (clients.ts rows) and HTTP requests (fetch,
// http(s).request, undici). A fetch's body read (`fetch.body`) stays a wait.
const CLIENT_KIND = /^(?:(?:pg|mysql|redis|ioredis|undici)(?:\.|$)|fetch$|http\.request$)/;
/**
 * A TracingChannel's five event channels, held directly: asking them is five inlined getter
 * reads, where Node 26's `TracingChannel.hasSubscribers` goes through two more objects. The
 * objects are stable (`diagnostics_channel.channel(name)` returns the one live channel).
 */
class OpEvents {
  readonly start: TraceEventChannel<OpTraceContext>;
  readonly end: TraceEventChannel<OpTraceContext>;
  readonly asyncStart: TraceEventChannel<OpTraceContext>;
  readonly asyncEnd: TraceEventChannel<OpTraceContext>;
  readonly error: TraceEventChannel<OpTraceContext>;
  constructor(tc: GreenioTracingChannel<OpTraceContext>) {
    this.start = tc.start;
    this.end = tc.end;
    this.asyncStart = tc.asyncStart;
    this.asyncEnd = tc.asyncEnd;
    this.error = tc.error;
  }
  all(): Array<TraceEventChannel<OpTraceContext>> {
    return [this.start, this.end, this.asyncStart, this.asyncEnd, this.error];
  }
  on(): boolean {
    return this.start.hasSubscribers || this.end.hasSubscribers || this.asyncStart.hasSubscribers || this.asyncEnd.hasSubscribers || this.error.hasSubscribers;
  }
}
const waitEvents = new OpEvents(waitTracing);
const clientEvents = new OpEvents(clientTracing);
const eventsOfKind = new Map<string, OpEvents>();
function eventsOf(kind: string): OpEvents {
  let ev = eventsOfKind.get(kind);
  if (ev === undefined) eventsOfKind.set(kind, (ev = CLIENT_KIND.test(kind) ? clientEvents : waitEvents));
  return ev;
}

// ---------------------------------------------------------------------------------
// Greenlet runs.

// One context per greenlet, kept from its start to its death only while traced.
const greenletContexts = new WeakMap<object, GreenletTraceContext>();

/**
 * greenlet.ts runs a greenlet's body through this when `greenletTracing.hasSubscribers`:
 * `start` with the stores bound to it entered (so the body and everything it schedules
 * run in them), `end` when the body returned (or threw); error/asyncStart/asyncEnd follow
 * at its death (`endChannel.publish`).
 */
export function traceGreenletRun(g: TracedGreenlet, fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
  const ctx = new GreenletContext(g);
  greenletContexts.set(g, ctx);
  return greenletTracing.start.runStores(ctx, runBody, undefined, ctx, fn, args);
}

class GreenletContext implements GreenletTraceContext {
  readonly kind = 'greenlet' as const;
  readonly id: number;
  readonly name: string;
  readonly parentId: number | null;
  readonly detail: string;
  readonly site: string | undefined;
  outcome: TraceOutcome | undefined = undefined;
  result?: unknown;
  error?: unknown;
  constructor(readonly greenlet: TracedGreenlet) {
    this.id = greenlet.id;
    this.name = greenlet.name ?? `Greenlet-${greenlet.id}`;
    this.parentId = greenlet.parent?.id ?? null;
    this.detail = greenlet.fnName ?? '';
    this.site = greenlet.spawnStack;
  }
}

function runBody(ctx: GreenletTraceContext, fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
  try {
    return fn(...(args as never[]));
  } finally {
    greenletTracing.end.publish(ctx);
  }
}

function greenletOutcome(g: TracedGreenlet, ok: boolean, value: unknown): TraceOutcome {
  if (g.x !== null && g.x.abandoned) return 'abandoned';
  if (g.killed !== null) return 'killed';
  if (ok) return 'ok';
  return value instanceof Error && value.name === 'TimeoutError' ? 'timedOut' : 'error';
}

interface GreenletEnd {
  greenlet: TracedGreenlet;
  ok: boolean;
  value: unknown;
}

/**
 * What greenlet.ts publishes at a greenlet's death: `greenio:greenlet:end`, and the
 * error/asyncStart/asyncEnd of its traced run (if its start was traced).
 */
class EndChannel {
  get hasSubscribers(): boolean {
    return endPlain.hasSubscribers || greenletTracing.hasSubscribers;
  }
  publish(m: GreenletEnd): void {
    if (endPlain.hasSubscribers) endPlain.publish(m);
    const ctx = greenletContexts.get(m.greenlet);
    if (ctx === undefined) return;
    greenletContexts.delete(m.greenlet);
    ctx.outcome = greenletOutcome(m.greenlet, m.ok, m.value);
    if (m.ok) {
      ctx.result = m.value;
    } else {
      ctx.error = m.value;
      greenletTracing.error.publish(ctx);
    }
    greenletTracing.asyncStart.publish(ctx);
    greenletTracing.asyncEnd.publish(ctx);
  }
}
export const endChannel = new EndChannel();

/** `greenio:greenlet:spawn` and `greenio:greenlet:start` (plain channels). */
export const spawnChannel = spawnPlain;
export const startChannel = startPlain;

// ---------------------------------------------------------------------------------
// Ops: waits, callback IO, handles, client operations.

const OP_OUTCOMES: Readonly<Record<string, TraceOutcome>> = {
  ok: 'ok',
  error: 'error',
  killed: 'killed',
  timeout: 'timedOut',
  abandoned: 'abandoned',
};

interface IoStart {
  greenlet: TracedGreenlet;
  op: { readonly isWait: boolean };
  kind: string;
  detail: unknown;
}
interface IoEnd extends IoStart {
  durationMs: number;
  outcome: 'ok' | 'error' | 'killed' | 'timeout' | 'abandoned';
  /** The error it failed with, when the hub knows it. */
  error?: unknown;
  /** Interrupted: what the interrupt could not undo (`not cancelled on the server: …`). */
  note?: string;
  /** An op made only to be published as it ends (an abandoned await): it starts now too. */
  whole?: boolean;
}

/** An op's tracing context: a class, so every context has one shape (publishing is hot). */
class OpContext implements OpTraceContext {
  readonly id: number;
  readonly parentId: number | null;
  outcome: TraceOutcome | undefined = undefined;
  durationMs: number | undefined = undefined;
  error?: unknown;
  note?: string;
  constructor(
    readonly greenlet: TracedGreenlet,
    readonly kind: string,
    readonly detail: unknown,
    readonly isWait: boolean,
  ) {
    this.id = greenlet.id;
    this.parentId = greenlet.parent?.id ?? null;
  }
  /** Read when asked (most subscribers never do: building `Greenlet-<id>` per op is not free). */
  get name(): string {
    return this.greenlet.name ?? `Greenlet-${this.id}`;
  }
}

// An op's context from its start to its end. Weak: an op that never ends (its greenlet
// parked forever and collected) must not be kept by tracing.
const opContexts = new WeakMap<object, OpContext>();
// Contexts begun and not yet ended: while none is, an op's end has nothing to look up, so
// its check is one comparison (a context whose op was collected keeps it above 0: the end
// then looks up its op, still correct).
let tracedOps = 0;

function opTracingOn(): boolean {
  return waitEvents.on() || clientEvents.on();
}

// Whether an op's start and end may have anyone to tell, kept by watching subscriptions
// (subscribers.ts): an op with no listener reads a boolean instead of eleven getters
// (~7 % of a `sleep(0)`). Both stay true (ask the channels) if the watch cannot be trusted:
// it must see a TracingChannel's subscription (Node 26 goes through private windows) and
// `diagnostics_channel.subscribe`'s, tried once here.
let startWatched = true;
let endWatched = true;
/** @internal True when the watch is in use (tested on each Node: else every op asks the getters). */
export let watchTrusted = false;
function recount(): void {
  startWatched = ioStartPlain.hasSubscribers || opTracingOn();
  endWatched = ioEndPlain.hasSubscribers;
}
if (watchSubscribers([ioStartPlain, ioEndPlain, ...waitEvents.all(), ...clientEvents.all()], recount)) {
  const noop = { start(): void {}, error(): void {} };
  startWatched = endWatched = false;
  waitTracing.subscribe(noop);
  const traced = startWatched;
  diagnostics.subscribe('greenio:io:end', noop.start);
  const seen = traced && endWatched;
  waitTracing.unsubscribe(noop);
  diagnostics.unsubscribe('greenio:io:end', noop.start);
  if (seen) recount();
  else startWatched = endWatched = true;
  watchTrusted = seen;
}

/** What the hub publishes when an op begins: `greenio:io:start`, and start/end of its tracing channel. */
class IoStartChannel { // not a literal: V8 keeps one with getters as a dictionary (a LoadIC per op)
  get hasSubscribers(): boolean {
    return startWatched && (ioStartPlain.hasSubscribers || opTracingOn());
  }
  publish(m: IoStart): void {
    if (ioStartPlain.hasSubscribers) ioStartPlain.publish(m);
    const ev = eventsOf(m.kind);
    if (!ev.on()) return;
    const ctx = new OpContext(m.greenlet, m.kind, m.detail, m.op.isWait);
    opContexts.set(m.op, ctx);
    tracedOps++;
    ev.start.publish(ctx);
    // The call that began the op has returned its promise (or its callback is registered).
    ev.end.publish(ctx);
  }
}
export const ioStartChannel = new IoStartChannel();

/**
 * What the hub publishes when an op ends: `greenio:io:end`, and error/asyncStart/asyncEnd of
 * its trace. An op published whole (`whole`: an abandoned await) asks `wholeWanted` first.
 */
class IoEndChannel {
  get hasSubscribers(): boolean {
    return (endWatched && ioEndPlain.hasSubscribers) || tracedOps !== 0;
  }
  get wholeWanted(): boolean {
    return ioEndPlain.hasSubscribers || opTracingOn();
  }
  publish(m: IoEnd): void {
    if (ioEndPlain.hasSubscribers) ioEndPlain.publish(m);
    let ctx = tracedOps === 0 ? undefined : opContexts.get(m.op);
    const ev = eventsOf(m.kind);
    if (ctx === undefined) {
      if (m.whole !== true || !ev.on()) return;
      ctx = new OpContext(m.greenlet, m.kind, m.detail, m.op.isWait);
      ev.start.publish(ctx);
      ev.end.publish(ctx);
    } else {
      opContexts.delete(m.op);
      tracedOps--;
    }
    ctx.outcome = OP_OUTCOMES[m.outcome] ?? 'error';
    ctx.durationMs = m.durationMs;
    if (m.note !== undefined) ctx.note = m.note;
    // Node's convention: `error` is published when the operation threw, with `context.error`.
    // An op ended by its own timeout into a result (`event.wait(ms)` → false) has none.
    if (m.error !== undefined || m.outcome === 'error') {
      ctx.error = m.error;
      ev.error.publish(ctx);
    }
    ev.asyncStart.publish(ctx);
    ev.asyncEnd.publish(ctx);
  }
}
export const ioEndChannel = new IoEndChannel();
