/**
 * The long-lived worker greenlets of a map (feed.ts): each is a member of the group, runs
 * task after task in its own context (no context per task), and parks between tasks until
 * the feed hands it the next. A task is a record (`Task`) with its own `Local` values; a
 * kill or Timeout reaches it through its worker. Limits: a worker that ends a task in a
 * state a later task must not inherit (the task failed or was killed, left IO or a flow
 * running, or an interrupt pending) retires and a fresh worker takes the next item; code a
 * task left running without such a trace (a plain floating promise) still runs as its worker.
 */
import * as hub from '../hub/index.js';
import type { AnyOp, OpHandler, Watcher } from '../hub/index.js';
import { spawn, type Greenlet } from '../greenlet.js';
import { setLocalScope, type LocalScope } from '../local.js';
import { tracedMapper } from './task-tracing.js';

/** One item's task: its outcome, and the key of its `Local` values. @internal */
export class Task {
  dead = false;
  failed = false;
  /** The value, or the error once failed. */
  result: unknown = undefined;
  /** Its function wrapped for tracing:greenio.task, made at launch (null when nobody listened). */
  traced: ((item: unknown) => unknown) | null = null;
  constructor(
    public item: unknown,
    /** The item's place in the input, from 0. */
    readonly index: number,
  ) {}
}

/** What a worker needs of its feed (feed.ts's `Feed`; an interface so this file stays below it). @internal */
export interface WorkerFeed {
  readonly fn: (item: never) => unknown;
  readonly traceKind: 'group.map' | 'group.imap';
  readonly host: object;
  /** The worker whose next task is being read (an async read in flight), if any. */
  runner: Worker | null;
  readonly idle: Worker[];
  /** Sweeps of parked workers so far (a worker parked before the last one is dismissed at the next). */
  readonly sweeps: number;
  /** `t`, which ran to its value (`record`), is no longer running: hand its outcome on. */
  arrival(t: Task): void;
  /** The next task for `w` now, or null (then `w.next` may be set later, while it parks). */
  nextFor(w: Worker): Task | null;
  /** True if `w` may park for a later item (else it exits when none is ready). */
  mayPark(w: Worker): boolean;
  workerDied(w: Worker): void;
}

const K_IDLE = hub.kind('group.worker');

/** A parked worker's wait: resolved with its next task, or null to exit. */
const IDLE: OpHandler<Task | null> = {
  start(op) {
    const w = op.data as Worker;
    w.op = op;
    w.parkedAt = w.feed.sweeps;
    if (w.feed.runner !== w) w.feed.idle.push(w);
  },
  cancel(op) {
    const w = op.data as Worker;
    w.op = null;
    w.unlist();
  },
};

/** A worker greenlet's side of the map. @internal */
export class Worker implements Watcher, LocalScope {
  g: Greenlet | null = null;
  /** The task running (or last run: its `Local` values stay its own while its code runs). */
  task: Task;
  /** The task handed over while it was not parked. */
  next: Task | null = null;
  /** Its last task, done, to hand on at its death (so the map ends after its workers). */
  unarrived: Task | null = null;
  op: AnyOp | null = null;
  /** The feed's sweep count when it last parked. */
  parkedAt = 0;
  constructor(
    readonly feed: WorkerFeed,
    first: Task,
  ) {
    this.task = first;
  }

  get localKey(): object {
    return this.task;
  }

  /** Hand `t` (or null: exit) to this worker, parked or about to ask. Only schedules. */
  give(t: Task | null): void {
    const op = this.op;
    if (op === null) {
      this.next = t;
      return;
    }
    this.op = null;
    op.resolve(t);
  }

  /** Leave the idle list and the runner's place. */
  unlist(): void {
    const f = this.feed;
    if (f.runner === this) f.runner = null;
    const i = f.idle.indexOf(this);
    if (i >= 0) f.idle.splice(i, 1);
  }

  /** The worker greenlet died (a task failed or was killed, it retired, or it was abandoned). */
  onReady(): void {
    this.unlist();
    this.feed.workerDied(this);
  }
}

/** A new task for `item`, the `index`th of `feed`'s input. */
export function makeTask(feed: WorkerFeed, item: unknown, index: number): Task {
  const t = new Task(item, index);
  // Made at launch, as a task's greenlet was: the context names the pool as it was then.
  if (hub.taskTracing.hasSubscribers) t.traced = tracedMapper(feed.fn as (item: unknown) => unknown, feed.traceKind, feed.host, index);
  return t;
}

/** Start a worker for `first` (in the caller's context: fill runs there). */
export function startWorker(feed: WorkerFeed, first: Task): Worker {
  const w = new Worker(feed, first);
  w.g = spawn(work, w);
  return w;
}

/** A greenlet running `t` alone (its own Local values, as any greenlet): its death is the outcome. */
export function oneShot(feed: WorkerFeed, t: Task): Worker {
  const w = new Worker(feed, t);
  const item = t.item;
  t.item = undefined;
  w.g = spawn((t.traced ?? feed.fn) as (item: unknown) => unknown, item);
  return w;
}

/**
 * True if the worker must not run another task: it was killed or abandoned, an interrupt
 * waits for its next wait, or the task left ops or flows behind (IO it started, a flow a
 * timeout abandoned) that would run beside the next task.
 */
function mustRetire(g: Greenlet): boolean {
  if (g.dead || g.pending !== null || g.ops !== null) return true;
  const x = g.x;
  return x !== null && (x.killed !== null || (x.subflows !== null && x.subflows.size > 0) || (x.unreached !== null && x.unreached.size > 0) || x.timeouts > 0);
}

async function work(w: Worker): Promise<void> {
  const g = w.g!;
  const feed = w.feed;
  // Reports name the worker by the user's function and its site, as they named a task's greenlet.
  g._fn = feed.fn as (...args: never[]) => unknown;
  for (let t: Task | null = w.task, runs = 0; ; runs++) {
    // Its first task may key Local values by the greenlet (nothing ran in it before); from
    // the second on, by the task (a Group's worker, which runs one task, never pays this).
    if (runs === 1) setLocalScope(g, w);
    w.task = t;
    const item = t.item;
    t.item = undefined;
    const fn = t.traced ?? feed.fn;
    // A throw ends the worker with the task's error: its death gives the task that outcome
    // (as a task's own greenlet did: join's raiseError, cleanup of its IO).
    let r = (fn as (item: unknown) => unknown)(item);
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') r = await r;
    if (g.dead) return; // abandoned meanwhile: its death already gave the task its outcome
    t.dead = true;
    t.result = r;
    const retire = mustRetire(g);
    const n = retire ? null : feed.nextFor(w);
    if (n === null && (retire || (w.next === null && feed.runner !== w && !feed.mayPark(w)))) {
      w.unarrived = t; // handed on at its death: members and slots are right when the map ends
      return;
    }
    feed.arrival(t);
    t = n ?? w.next ?? (await hub.wait<Task | null>(K_IDLE, feed.host, IDLE, w));
    w.next = null;
    if (t === null) return;
  }
}
