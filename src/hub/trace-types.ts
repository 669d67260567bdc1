/**
 * The message types of greenio's tracing channels: the context objects of
 * `tracing:greenio.greenlet|wait|client|job|task:*` and the shape of a greenio
 * TracingChannel. Types only (the channels themselves are in channels.ts and
 * op-channels.ts); they describe what a subscriber receives, not when it is published.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';

/** How a traced operation ended (a greenlet, a wait, a client operation). */
export type TraceOutcome = 'ok' | 'error' | 'killed' | 'timedOut' | 'abandoned';

/** The greenlet fields the tracing contexts read (structural: the hub sits below greenlet.ts). */
export interface TracedGreenlet {
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
