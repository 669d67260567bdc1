/**
 * `Event` (gevent.event): one greenlet wakes many (`AsyncResult` is in async-result.ts).
 * `set()` only schedules: waiters resume later, in the order they began waiting, and every
 * wait goes through the hub, so kill and Timeout interrupt it and leave no waiter
 * registered. Limits: an Event says the flag was set at least once while a waiter waited,
 * not that it is still set when the waiter runs (gevent's rule); one process only.
 */
import * as hub from './hub/index.js';
import { nameFromOptions, nameOf } from './instrument/resources.js';
import { waitDetail, type WaitTarget } from './instrument/leaks.js';
import { Op, type AnyOp, type OpHandler } from './hub/index.js';
import { checkTimeout } from './internal/validate.js';
import { kAddWatcher, kRemoveWatcher, type Waitable, type Watcher } from './hub/index.js';
import { ParkedList, parkedHandler, type Parked } from './hub/index.js';
import { originalSetImmediate } from './internal/originals.js';

const K_EVENT = hub.kind('event.wait');

const TRUE: Promise<boolean> = Promise.resolve(true);

// A wait on an Event that has no WaitTarget yet names the Event itself for its first turn:
// most such waits end within it (a fresh Event waited on and set), and then need no target
// (a WeakRef and a FinalizationRegistry cell, whose upkeep in the collector costs more than
// the wait). Those still parked at the next immediate get the target then, so a waiter no
// longer keeps its Event alive and a leaked Event is still found, one turn later.
const young: AnyOp[] = [];
let armed = false;
function nameWeakly(): void {
  armed = false;
  for (const op of young) if (!op.settled) (op as { detail: unknown }).detail = (op.detail as Event)._weakDetail();
  young.length = 0;
}
function parkedYoung(op: AnyOp): void {
  if (op.detail instanceof hub.WeakDetail) return;
  // A long turn of waits that end at once keeps only the parked ones (amortised).
  if (young.length >= 1024) compact();
  young.push(op);
  if (!armed) {
    armed = true;
    originalSetImmediate(nameWeakly).unref();
  }
}
const EVENT_WAIT: OpHandler<boolean> = parkedHandler((op) => op.resolve(false), parkedYoung);
function compact(): void {
  let n = 0;
  for (const op of young) if (!op.settled) young[n++] = op;
  young.length = n;
  // All parked: name them weakly now rather than let the list grow.
  if (n >= 512) nameWeakly();
}

/**
 * A flag greenlets can wait for (gevent's `Event`, Python's `threading.Event`): `set()`
 * wakes every greenlet waiting in `wait()`, in the order they began waiting; once set,
 * `wait()` returns at once until `clear()`. It is a waitable: `wait([event])` and
 * `iwait()` accept it.
 * @example
 * import { Event, spawn } from 'greenio';
 * const ready = new Event();
 * const g = spawn(async () => ((await ready.wait()) ? 'go' : 'timed out'));
 * ready.set();
 * console.log(await g.get()); // 'go'
 */
export class Event implements Waitable {
  #flag = false;
  readonly #waiters = new ParkedList();
  // What its waits name, made at the first one: a WaitTarget holding it weakly, so a
  // waiter does not keep alive an Event nobody else can reach (then it is reported leaked).
  #detail: WaitTarget | null = null;

  /** `options.name`: a name for run-info and `greenio ps`/`top`. */
  constructor(options?: { name?: string }) {
    nameFromOptions(this, options);
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** True while the flag is set. */
  isSet(): boolean {
    return this.#flag;
  }

  /** Same as `isSet()` (the waitable protocol, as `Greenlet.ready()`). */
  ready(): boolean {
    return this.#flag;
  }

  /**
   * Set the flag and wake every greenlet waiting now, in the order they began
   * waiting. Never switches: the waiters run after the caller's current synchronous
   * run. A no-op if already set.
   */
  set(): void {
    if (this.#flag) return;
    this.#flag = true;
    this.#waiters.drain(wakeEventWaiter, this);
  }

  /** Reset the flag: later `wait()` calls block until the next `set()`. */
  clear(): void {
    this.#flag = false;
  }

  /**
   * Wait until the flag is set: resolves `true` (at once if already set), or `false`
   * when `timeout` ms pass first. `true` means the flag was set while waiting, even if
   * it was cleared again before this greenlet ran. An outer `Timeout` or a kill
   * passes through (the wait throws it).
   */
  wait(timeout?: number): Promise<boolean> {
    const ms = checkTimeout('timeout', timeout);
    if (this.#flag) return TRUE;
    return hub.wait<boolean>(K_EVENT, this.#detail ?? this, EVENT_WAIT, this.#waiters, ms);
  }

  /** @internal What its waits name once parked past a turn: a WaitTarget holding it weakly. */
  _weakDetail(): WaitTarget {
    return (this.#detail ??= waitDetail(this, nameOf(this), this.#waiters));
  }

  /** `<Event set>`, `<Event clear, 3 waiting>`. */
  toString(): string {
    const n = nameOf(this);
    return `<Event${n === undefined ? '' : ` '${n}'`} ${this.#flag ? 'set' : 'clear'}${this.#waiters.describe()}>`;
  }

  /** @internal For run-info: what a waiting greenlet waits on. */
  describe(): string {
    return this.toString();
  }

  /** @internal */
  [kAddWatcher](w: Watcher): void {
    if (this.#flag) w.onReady(this);
    else this.#waiters.push(w);
  }

  /** @internal */
  [kRemoveWatcher](w: Watcher): void {
    this.#waiters.removeItem(w, false);
  }
}

function wakeEventWaiter(item: Parked, ev: Event): void {
  if (item instanceof Op) item.resolve(true);
  else (item as Watcher).onReady(ev);
}
