/**
 * The runners of `Group.map`, `imap` and `imapUnordered` (imap.ts): the input (input.ts) is
 * read only once a runner is there for the item (a parked worker, or a slot of the group
 * for a new one), and each item's task runs in a worker greenlet (worker.ts) spawned in the
 * caller's context (its AsyncLocalStorage stores, and the caller as `parent`). Limits: at
 * most `window` tasks outstanding; running tasks are never killed.
 */
import type { Greenlet } from '../greenlet.js';
import { originalSetImmediate } from '../internal/originals.js';
import { CLOSED, INPUT_DONE, InputFailure, InputReader, PULLING, QUEUED } from './input.js';
import { Task, makeTask, oneShot, startWorker, type Worker, type WorkerFeed } from './worker.js';
import type { MapHost, SlotClient } from './map-host.js';

export type Mapper<T, R> = (item: T) => R | Promise<R>;

export type Entry = Task | InputFailure;
export { Task };

// Flags of a feed, after its input's (input.ts).
const GRANTED = 32;
const FILL_SOON = 64;
const SWEEP = 128;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The runners shared by every mode: slots, parked workers and their sweeps, spawning in
 * the caller's context (its AsyncLocalStorage stores, and the caller as `parent`).
 */
export abstract class Feed<T, R> extends InputReader<T> implements WorkerFeed, SlotClient {
  /** Spawned and not yet consumed. */
  outstanding = 0;
  /** Tasks launched so far (the next one's index, for tracing:greenio.task). */
  launches = 0;
  /** What tracing:greenio.task calls this map. */
  readonly traceKind: 'group.map' | 'group.imap' = 'group.imap';
  /** Spawned and still running. */
  running = 0;
  /**
   * Workers parked for an item (not the runner), longest parked first. Taken from the front:
   * taken from the back, a consumer whose wake-ups the switch interval defers (an ordered
   * imap draining a turn's results at once) kept reusing the latest parked while the oldest
   * sat through sweeps and were dismissed and replaced (3,213 workers for 20,000 tasks).
   */
  readonly idle: Worker[] = [];
  sweeps = 0;
  /** True while in its pool's set of maps with parked workers (slots.ts `SlotLine.parked`). */
  listed = false;
  /** The worker reserved for the item being read. */
  runner: Worker | null = null;
  /** An item read whose runner was lost meanwhile (killed during an async read): waits for one. */
  pending: Task | null = null;
  readonly fillSoon = (): void => {
    this.bits &= ~FILL_SOON;
    this.ctx.runInAsyncScope(fillFeed, null, this);
  };
  constructor(
    readonly host: MapHost,
    readonly fn: Mapper<T, R>,
    source: Iterable<T> | AsyncIterable<T> | null,
    readonly window: number,
  ) {
    super(source);
  }

  /**
   * Read items and hand them out while room in the window, input and a runner (a parked
   * worker, or a slot for a new one) are there. Runs in the caller's context; never inside a signal.
   */
  fill(): void {
    while (this.secureRunner() && this.readOne());
  }

  /** True once a runner is there for the next item (reserving a parked worker, or a slot). */
  secureRunner(): boolean {
    const b = this.bits;
    if ((b & (CLOSED | INPUT_DONE | PULLING)) !== 0 || this.pending !== null) return false;
    if (this.outstanding >= this.window) return false;
    if (this.runner !== null || (b & GRANTED) !== 0) return true;
    const w = this.idle.shift();
    if (w !== undefined) {
      this.runner = w;
      return true;
    }
    if ((b & QUEUED) !== 0) return false;
    if (!this.host._requestSlot(this)) {
      this.bits |= QUEUED;
      return false;
    }
    this.bits |= GRANTED;
    return true;
  }

  /** Hand `item`'s task to the runner: the reserved worker, else a new one on the slot taken. */
  launch(item: T): void {
    const t = makeTask(this, item, this.launches++);
    this.outstanding++;
    this.running++;
    this.launched(t);
    const w = this.runner;
    if (w !== null) {
      this.runner = null;
      w.give(t);
    } else if ((this.bits & GRANTED) !== 0) {
      this.bits &= ~GRANTED;
      this.startWorker(t);
    } else {
      // Its runner died during the read: the task waits for the next slot or worker.
      this.pending = t;
      if (this.host._requestSlot(this)) this._slotGranted();
      else this.bits |= QUEUED;
    }
  }

  startWorker(t: Task): void {
    // A Group (no bound) has a slot for every item at once: a greenlet per task, as cheap
    // as it gets, its death giving the task its outcome (workerDied).
    const w = this.host._window === Infinity ? oneShot(this, t) : startWorker(this, t);
    this.host._addTask(w.g!, w);
  }

  /** The next task for worker `w`, read now (in the caller's context), or null. */
  nextFor(w: Worker): Task | null {
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      return p;
    }
    if ((this.bits & (CLOSED | INPUT_DONE | PULLING)) !== 0 || this.outstanding >= this.window) return null;
    // This worker is the runner of the next item: a slot the feed waits for is not needed for it.
    if ((this.bits & QUEUED) !== 0) {
      this.bits &= ~QUEUED;
      this.host._cancelSlot(this);
    }
    this.runner = w;
    this.ctx.runInAsyncScope(readOneFeed, null, this);
    const t = w.next;
    w.next = null;
    return t;
  }

  /**
   * True if `w` may park for the next item. A worker parked through a whole loop turn is
   * dismissed (sweep): a consumer that keeps up is back within the turn, or the next one
   * when its wake-up was deferred (the hub's switch interval), while a consumer that stops
   * calling, a slow head of an ordered `imap` or a dropped iterator leave no worker parked for long.
   */
  mayPark(_w: Worker): boolean {
    if ((this.bits & (CLOSED | INPUT_DONE)) !== 0 || !this.host._park(this as unknown as Feed<unknown, unknown>)) return false;
    this.sweepLater();
    return true;
  }

  sweepLater(): void {
    if ((this.bits & SWEEP) === 0) {
      this.bits |= SWEEP;
      originalSetImmediate(sweepFeed, this);
    }
  }

  /** Dismiss the workers parked since before the last sweep (kept: those parked since). */
  sweep(): void {
    const last = this.sweeps++;
    const idle = this.idle;
    let kept = 0;
    let gone: Worker[] | null = null;
    for (let i = 0; i < idle.length; i++) {
      const w = idle[i]!;
      if (w.parkedAt < last) (gone ??= []).push(w);
      else idle[kept++] = w;
    }
    idle.length = kept;
    if (gone !== null) for (const w of gone) w.give(null);
    if (kept > 0) this.sweepLater();
  }

  /** Dismiss the parked workers (the map is over, or others wait for a slot). */
  dismiss(): void {
    for (const w of this.idle.splice(0)) w.give(null);
  }

  arrival(t: Task): void {
    this.running--;
    if ((this.bits & CLOSED) === 0) this.arrive(t);
  }

  /** A worker died (inside its death: bookkeeping and wake-ups only). */
  workerDied(w: Worker): void {
    const g = w.g!;
    this.host._discard(g);
    const t = w.task;
    if (w.unarrived !== null) {
      w.unarrived = null;
      this.arrival(t);
    } else if (!t.dead) {
      // It died in its task: the task's outcome is its greenlet's, as when each task had one.
      t.dead = true;
      t.item = undefined;
      if (succeeded(g)) t.result = g.value;
      else {
        t.failed = true;
        t.result = failureOf(g);
      }
      this.arrival(t);
    }
    const n = w.next;
    if (n !== null && !n.dead) {
      w.next = null;
      this.pending = n; // handed over as it died: the next runner takes it
    }
    if ((this.bits & (CLOSED | INPUT_DONE)) === 0) this.fillLater();
  }

  /** No more reads: the slot taken for one goes back, and the workers waiting for one leave. */
  inputDone(): void {
    this.giveBackSlot();
    this.releaseWorkers();
  }

  releaseWorkers(): void {
    const r = this.runner;
    if (r !== null) {
      this.runner = null;
      r.give(null);
    }
    this.dismiss();
  }

  giveBackSlot(): void {
    if ((this.bits & GRANTED) !== 0) {
      this.bits &= ~GRANTED;
      this.host._releaseSlot();
    }
    if ((this.bits & QUEUED) !== 0) {
      this.bits &= ~QUEUED;
      this.host._cancelSlot(this);
    }
  }

  /** A slot freed while this feed was queued for one (inside a signal: fill later). */
  _slotGranted(): void {
    this.bits = (this.bits & ~QUEUED) | GRANTED;
    if ((this.bits & CLOSED) !== 0) {
      this.giveBackSlot();
      return;
    }
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.bits &= ~GRANTED;
      this.startWorker(p);
      return;
    }
    this.fillLater();
  }

  fillLater(): void {
    if ((this.bits & (FILL_SOON | CLOSED | INPUT_DONE)) !== 0) return;
    this.bits |= FILL_SOON;
    void RESOLVED.then(this.fillSoon);
  }

  /** Stop reading: leave the slot queue, close the input (soon, or now with `now`). */
  close(now: boolean): Promise<unknown> | undefined {
    if ((this.bits & CLOSED) !== 0) return undefined;
    this.bits |= CLOSED;
    this.giveBackSlot();
    this.pending = null;
    this.releaseWorkers();
    this.closed();
    return this.closeInput(now);
  }

  /** Record the task `launched` in input order (ordered modes). */
  abstract launched(t: Task): void;
  /** An outcome arrived: a dead task, the input's failure, or null for the input's end. */
  abstract override arrive(e: Entry | null): void;
  /** Called once, when the feed closes: settle or drop what waits. */
  abstract closed(): void;
}

function sweepFeed(f: { bits: number; sweep(): void }): void {
  f.bits &= ~SWEEP;
  f.sweep();
}
function readOneFeed(f: { readOne(): boolean }): void {
  f.readOne();
}
export function fillFeed(f: { fill(): void }): void {
  f.fill();
}

/**
 * A task killed with `GreenletExit` is successful with the exit as its value (gevent),
 * but it gave no result: the consumer gets the exit thrown, not a value of the wrong type.
 */
export function succeeded(g: Greenlet): boolean {
  return g.successful() && (g.killed === null || g.value !== g.killed);
}
export function failureOf(g: Greenlet): unknown {
  return g.successful() ? g.value : g.exception;
}
