/**
 * Waiting on many things at once: `joinAll`, `wait`, `iwait` and `killAll`, over
 * anything that becomes ready once (greenlets, events, async results, futures). Each
 * is a single wait at the hub's switch point, so kill and Timeout interrupt it and it
 * leaves no watcher registered behind.
 */
import * as hub from './hub/index.js';
import type { Op, OpHandler } from './hub/index.js';
import { Greenlet, type KillOptions } from './greenlet.js';
import { checkError, checkInt, checkOptions, checkTimeout, expected, quote } from './internal/validate.js';
import { clockNow } from './internal/clock.js';
import { isWaitable, kAddWatcher, kRemoveWatcher, type Waitable, type Watcher } from './hub/index.js';
import { GreenletExit } from './errors.js';
import { TimeoutError } from './timeout.js';

export type { Waitable };

const K_JOINALL = hub.kind('joinAll');
const K_WAIT = hub.kind('wait');

/** Options of `joinAll`. */
export interface JoinAllOptions {
  timeout?: number;
  /** Throw the first error of a greenlet that failed (as soon as one fails). */
  raiseError?: boolean;
  /** Resolve once this many have finished. */
  count?: number;
}

/** Options of `wait` and `iwait`. */
export interface WaitOptions {
  timeout?: number;
  count?: number;
}

function toList<T>(name: string, items: unknown, check: (x: unknown) => x is T, what: string): T[] {
  if (items === null || typeof items !== 'object' || typeof (items as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(expected(name, `an iterable of ${what}`, items));
  }
  const list = Array.isArray(items) ? (items as unknown[]) : [...(items as Iterable<unknown>)];
  for (let i = 0; i < list.length; i++) {
    if (!check(list[i])) throw new TypeError(`Expected every item of \`${name}\` to be ${what}, got ${quote(list[i])} at index ${i}`);
  }
  return list as T[];
}

const isGreenlet = (x: unknown): x is Greenlet => x instanceof Greenlet;

function checkCount(value: unknown, length: number): number {
  if (value === undefined || value === null) return length;
  checkInt('count', value, 0);
  return Math.min(value, length);
}

/** One collector per call: watches every item, records them as they become ready. */
class Collector implements Watcher {
  readonly done: Waitable[] = [];
  op: Op<Waitable[]> | null = null;
  constructor(
    readonly items: Waitable[],
    readonly need: number,
    readonly raiseError: boolean,
  ) {}

  onReady(source: Waitable): void {
    this.done.push(source);
    const op = this.op;
    if (op === null || op.settled) return;
    if (this.raiseError && source instanceof Greenlet && !source.successful()) {
      this.detach();
      op.reject(source.exception);
    } else if (this.done.length >= this.need) {
      this.detach();
      op.resolve(this.done);
    }
  }

  detach(): void {
    for (const it of this.items) if (!it.ready()) it[kRemoveWatcher](this);
  }
}

const COLLECT: OpHandler<Waitable[]> = {
  start(op) {
    const c = op.data as Collector;
    if (c.need === 0) return op.resolve(c.done);
    c.op = op;
    // Items already ready are reported by kAddWatcher at once, in input order.
    for (const it of c.items) {
      if (op.settled) break;
      it[kAddWatcher](c);
    }
  },
  cancel(op) {
    (op.data as Collector).detach();
  },
  timeout(op) {
    const c = op.data as Collector;
    c.detach();
    op.resolve(c.done);
  },
};

/**
 * Wait for greenlets to finish; resolves to the finished ones, in the order they
 * finished. With `timeout`, resolves at the timeout with those finished so far; with
 * `raiseError`, throws the first error of one that failed; with `count`, resolves once
 * that many have finished.
 * @example
 * import { spawn, joinAll, sleep } from 'greenio';
 * const done = await joinAll([spawn(() => sleep(5)), spawn(() => sleep(10))]);
 * console.log(done.length); // 2
 */
export function joinAll<G extends Greenlet<unknown>>(greenlets: Iterable<G>, options?: JoinAllOptions): Promise<G[]> {
  const list = toList('greenlets', greenlets, isGreenlet, 'Greenlet');
  const o = checkOptions('options', options);
  const ms = checkTimeout('timeout', o.timeout);
  const need = checkCount(o.count, list.length);
  const raise = o.raiseError === true;
  if (raise) {
    for (const g of list) if (g.dead && !g.successful()) return Promise.reject(g.exception);
  }
  return hub.wait(K_JOINALL, list.length, COLLECT, new Collector(list, need, raise), ms) as Promise<G[]>;
}

/**
 * Wait until `count` of `objects` (all by default) are ready; resolves to the ready
 * ones (in the order they became ready), or those ready at `timeout`. With no
 * `objects`, waits until every other live greenlet has finished.
 */
export function wait(objects?: Iterable<Waitable>, options?: WaitOptions): Promise<Waitable[]> {
  const o = checkOptions('options', options);
  const ms = checkTimeout('timeout', o.timeout);
  let list: Waitable[];
  if (objects === undefined || objects === null) {
    const me = hub.currentCore();
    list = hub.liveGreenlets().filter((g) => g !== me && g instanceof Greenlet) as Greenlet[];
  } else {
    list = toList('objects', objects, isWaitable, 'a Greenlet, Event, AsyncResult or Future');
  }
  const need = checkCount(o.count, list.length);
  return hub.wait(K_WAIT, list.length, COLLECT, new Collector(list, need, false), ms);
}

/** A watcher that queues ready items for `iwait`'s consumer. */
class Stream implements Watcher {
  readonly queue: Waitable[] = [];
  waiter: Op<void> | null = null;
  onReady(source: Waitable): void {
    this.queue.push(source);
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w.resolve(undefined);
    }
  }
}

const STREAM_WAIT: OpHandler<void> = {
  start(op) {
    (op.data as Stream).waiter = op;
  },
  cancel(op) {
    (op.data as Stream).waiter = null;
  },
  timeout(op) {
    (op.data as Stream).waiter = null;
    op.resolve(undefined);
  },
};

/**
 * Yield each of `objects` as it becomes ready (completion order), up to `count`,
 * stopping at `timeout`. Breaking out of the loop unregisters everything.
 * @example
 * import { spawn, iwait, sleep } from 'greenio';
 * const a = spawn(() => sleep(20)), b = spawn(() => sleep(5));
 * for await (const g of iwait([a, b])) console.log(g === b); // true, then false
 */
export function iwait<W extends Waitable>(objects: Iterable<W>, options?: WaitOptions): AsyncIterable<W> {
  const list = toList('objects', objects, isWaitable, 'a Greenlet, Event, AsyncResult or Future') as W[];
  const o = checkOptions('options', options);
  const ms = checkTimeout('timeout', o.timeout);
  const need = checkCount(o.count, list.length);
  return iwaitGen(list, need, ms);
}

async function* iwaitGen<W extends Waitable>(list: W[], need: number, ms: number | undefined): AsyncGenerator<W> {
  const s = new Stream();
  // clockNow: the virtual clock's time inside greenio/testing's withVirtualTime.
  const deadline = ms === undefined ? Infinity : clockNow() + ms;
  for (const it of list) it[kAddWatcher](s);
  let given = 0;
  try {
    while (given < need) {
      if (s.queue.length === 0) {
        const left = deadline - clockNow();
        if (left <= 0) return;
        await hub.wait<void>(K_WAIT, list.length - given, STREAM_WAIT, s, left === Infinity ? undefined : left);
        if (s.queue.length === 0) return; // timed out
      }
      given++;
      yield s.queue.shift() as W;
    }
  } finally {
    for (const it of list) if (!it.ready()) it[kRemoveWatcher](s);
  }
}

/**
 * Kill many greenlets at once (each with `error`, default `GreenletExit`); by default
 * wait for all to die, and throw `TimeoutError` if some outlive `timeout` (gevent).
 */
export function killAll(greenlets: Iterable<Greenlet<unknown>>, error?: Error, options?: KillOptions): Promise<void> {
  const list = toList('greenlets', greenlets, isGreenlet, 'Greenlet');
  const err = error === undefined ? new GreenletExit() : error;
  checkError('error', err);
  const o = checkOptions('options', options);
  const ms = checkTimeout('timeout', o.timeout);
  for (const g of list) if (g.isMain) throw new TypeError('The main greenlet cannot be killed');
  const me = hub.currentCore();
  const others = list.filter((g) => g !== me);
  for (const g of others) void g.kill(err, { block: false });
  if (o.block === false) return Promise.resolve();
  return joinAll(others, { timeout: ms }).then((done) => {
    if (done.length < others.length) throw new TimeoutError(undefined, `${others.length - done.length} greenlet(s) outlived the kill timeout of ${ms} ms`);
    if (others.length < list.length) return me === hub.main ? undefined : (me as Greenlet).kill(err);
  });
}
