/**
 * Groups and pools of greenlets (gevent.pool). A `Group` tracks greenlets until they die:
 * join them, kill them, map an input over them. A `Pool` also bounds how many run at once:
 * its `spawn` waits for a free slot (back-pressure), through the hub, so a kill or Timeout
 * interrupts that wait and no slot is lost. Limits: a `Group` has no bound (its `imap`
 * reads the whole input at once), and a member that never dies keeps its slot forever.
 */
import * as hub from '../hub/index.js';
import { kAddWatcher, type AnyOp, type Watcher } from '../hub/index.js';
import { Greenlet, spawn, type KillOptions } from '../greenlet.js';
import type { MapHost, SlotClient } from './map-host.js';
import { IMapIterator, mapAll } from './imap.js';
import { JOIN, JOIN_RAISE, checkGreenlet, killMembers, quotedName, rejectRaisers, type Members } from './members.js';
import { ADD, AVAIL, SPAWN, SlotLine, SlotNode, serveLine, type ParkedMap } from './slots.js';
import { checkBoolean, checkError, checkFunction, checkInt, checkIterable, checkOptions, checkTimeout, expected } from '../internal/validate.js';
import { GreenletExit, QueueFull } from '../errors.js';
import type { GroupJoinOptions, GroupOptions, MapInput, PoolAddOptions, WaitAvailableOptions } from './options.js';
import { enlist, membersAsHolders, nameFromOptions, nameOf, type Holdable, type Holder } from '../instrument/resources.js';

export type { GroupJoinOptions, GroupOptions, MapInput, PoolAddOptions, WaitAvailableOptions } from './options.js';

// What a call that need not wait returns: one settled promise each, not one per call.
const RESOLVED: Promise<void> = Promise.resolve();
const TRUE: Promise<boolean> = Promise.resolve(true);

const K_JOIN = hub.kind('group.join');
const K_SPAWN = hub.kind('pool.spawn');
const K_ADD = hub.kind('pool.add');
const K_AVAIL = hub.kind('pool.waitAvailable');

/** What `spawn` gives: a `Greenlet` from a `Group`, a promise of one from a `Pool` (it may wait for a slot). */
export type Spawned<G, T> = G extends Pool ? Promise<Greenlet<T>> : Greenlet<T>;

/**
 * A set of greenlets that are still running, without a bound on their number: each member
 * leaves when it dies. `join()` waits for all, `kill()` kills all, and `map` / `imap` /
 * `imapUnordered` run a function over an input, one greenlet per item.
 * @example
 * import { Group, sleep } from 'greenio';
 * const group = new Group();
 * for (const ms of [30, 10, 20]) group.spawn(sleep, ms);
 * console.log(group.size); // 3
 * await group.join();
 * console.log(group.size); // 0
 */
// MapHost and Members (the map engine's and the membership's views of a group) are checked
// where a group is handed to them: an `implements` clause would name private types in the
// public .d.ts.
export class Group {
  /** @internal */ readonly _members = new Set<Greenlet>();
  /** @internal Members being killed (never killed twice: a second kill would interrupt their cleanup). */
  _dying: Set<Greenlet> | null = null;
  /** @internal Greenlets waiting in `join()`. */
  _joiners: AnyOp[] | null = null;
  /** @internal One watcher for every member: no allocation per member. */
  readonly _watcher: Watcher = { onReady: (g) => void this._discard(g as Greenlet) };
  // A resource its members hold, for run-info and `greenio ps` (instrument/resources.ts).
  /** @internal */ _hn: Holdable | null = null;
  /** @internal */ _listed = false;
  /** @internal */ readonly exclusive = false;

  /** A group holding `greenlets` (those still alive); `options.name` names it in run-info and `greenio ps`. */
  constructor(greenlets?: Iterable<Greenlet> | null, options?: GroupOptions) {
    nameFromOptions(this, options);
    if (greenlets !== undefined && greenlets !== null) {
      checkIterable('greenlets', greenlets);
      // Group's own add even in a subclass: a constructor must not call an override.
      for (const g of greenlets) Group.prototype.add.call(this, g);
    }
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** How many members it has now. */
  get size(): number {
    return this._members.size;
  }

  /** True if `greenlet` is a member. */
  has(greenlet: Greenlet): boolean {
    return this._members.has(greenlet);
  }

  /** The members, in the order they joined. */
  [Symbol.iterator](): IterableIterator<Greenlet> {
    return this._members.values();
  }

  /**
   * Track `greenlet` until it dies (it need not be started). A dead greenlet is not
   * added. The main greenlet cannot be (it never dies).
   */
  add(greenlet: Greenlet): void {
    checkGreenlet(greenlet);
    if (!greenlet.dead && !this._members.has(greenlet)) this._adopt(greenlet, this._watcher);
  }

  /** Stop tracking `greenlet` (it goes on running). */
  discard(greenlet: Greenlet): void {
    checkGreenlet(greenlet);
    greenlet._unwatch(this._watcher);
    this._discard(greenlet);
  }

  /**
   * Spawn `fn(...args)` in a new member (`spawn()` then `add()`). From a `Group`, the
   * greenlet; from a `Pool`, a promise of it (see `Pool.spawn`).
   */
  spawn<A extends unknown[], T>(fn: (...args: A) => T | Promise<T>, ...args: A): Spawned<this, Awaited<T>> {
    checkFunction('fn', fn);
    const g = spawn(fn, ...args);
    this._adopt(g, this._watcher);
    return g as unknown as Spawned<this, Awaited<T>>;
  }

  /**
   * Wait until the group is empty: resolves `true` once it has been empty (at once if it
   * is), `false` at `timeout`. With `raiseError`, throws the error of the first member
   * that fails while it waits. Members added while it waits are waited for too.
   */
  join(options?: GroupJoinOptions): Promise<boolean> {
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    const raise = checkBoolean('raiseError', o.raiseError, false);
    if (this._members.size === 0) return TRUE;
    return hub.wait<boolean>(K_JOIN, this, raise ? JOIN_RAISE : JOIN, this, ms);
  }

  /**
   * Kill every member with `error` (default `GreenletExit`), each once; by default wait
   * until they are dead, killing members added meanwhile too. Unlike `killAll`, resolves
   * at `timeout` even if some outlive it. A member that calls it is killed last (the
   * error is thrown there, once the others are dead).
   */
  kill(error?: Error, options?: KillOptions): Promise<void> {
    const err = error === undefined ? new GreenletExit() : error;
    checkError('error', err);
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    const block = checkBoolean('block', o.block, true);
    if (this._members.size === 0) return RESOLVED;
    return killMembers(this, err, block, ms);
  }

  /**
   * Kill `greenlet` if it is a member not already being killed; by default wait for its
   * death (up to `timeout`). A greenlet that is not a member is left alone.
   */
  killOne(greenlet: Greenlet, error?: Error, options?: KillOptions): Promise<void> {
    checkGreenlet(greenlet);
    const err = error === undefined ? new GreenletExit() : error;
    checkError('error', err);
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    const block = checkBoolean('block', o.block, true);
    if (!this._members.has(greenlet) || this._dying?.has(greenlet)) return RESOLVED;
    (this._dying ??= new Set()).add(greenlet);
    if (greenlet === hub.currentCore()) return greenlet.kill(err);
    void greenlet.kill(err, { block: false });
    return block ? greenlet.join(ms) : RESOLVED;
  }

  /**
   * `fn(item)` for every item of `iterable` (sync or async), each in a member greenlet;
   * resolves to the results in input order. Reads the input only as slots free up. The
   * first task to fail (or be killed, or the input's own error) rejects it; tasks still
   * running then go on (they are not killed) and their results are dropped.
   * @example
   * import { Pool, sleep } from 'greenio';
   * const pool = new Pool(2);
   * console.log(await pool.map(async (ms: number) => (await sleep(ms), ms), [30, 10, 20])); // [30, 10, 20]
   */
  map<T, R>(fn: (item: T) => R | Promise<R>, iterable: MapInput<T>): Promise<Awaited<R>[]> {
    checkFunction('fn', fn);
    checkIterable('iterable', iterable);
    return mapAll(this, fn as (item: T) => Awaited<R>, iterable);
  }

  /**
   * `fn(item)` over `iterable`, yielding the results in input order. On a `Pool`, at most
   * `capacity` tasks are outstanding (running, or finished and not yet taken: no
   * unbounded buffer, the input is read at most `capacity` items ahead of the consumer).
   * A task's error (a kill's `GreenletExit` too) is thrown by the loop, which then stops;
   * breaking out stops it too: the input is closed, no new task starts, and tasks still
   * running finish on their own (as in gevent: they are not killed), results dropped.
   * @example
   * import { Pool } from 'greenio';
   * const pool = new Pool(3);
   * for await (const n of pool.imap(async (s: string) => s.length, ['a', 'bb', 'ccc'])) console.log(n); // 1, 2, 3
   */
  imap<T, R>(fn: (item: T) => R | Promise<R>, iterable: MapInput<T>): AsyncIterableIterator<Awaited<R>> {
    checkFunction('fn', fn);
    checkIterable('iterable', iterable);
    return new IMapIterator<T, Awaited<R>>(this, fn as (item: T) => Awaited<R>, iterable, true);
  }

  /** Like `imap`, but yields each result as its task finishes (completion order). */
  imapUnordered<T, R>(fn: (item: T) => R | Promise<R>, iterable: MapInput<T>): AsyncIterableIterator<Awaited<R>> {
    checkFunction('fn', fn);
    checkIterable('iterable', iterable);
    return new IMapIterator<T, Awaited<R>>(this, fn as (item: T) => Awaited<R>, iterable, false);
  }

  /**
   * Run `fn(...args)` in a member and resolve to its result (or throw its error). Called
   * from a member of this group, runs `fn` right there instead: waiting for a slot of its
   * own pool could wait forever (gevent).
   */
  apply<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, args?: A): Promise<Awaited<R>> {
    checkFunction('fn', fn);
    if (args !== undefined && !Array.isArray(args)) throw new TypeError(expected('args', 'an array of arguments', args));
    const a = (args ?? []) as A;
    if (this._members.has(hub.currentCore() as Greenlet)) {
      try {
        return Promise.resolve(fn(...a)) as Promise<Awaited<R>>;
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const s = this.spawn(fn, ...a) as Greenlet<Awaited<R>> | Promise<Greenlet<Awaited<R>>>;
    return s instanceof Greenlet ? s.get() : s.then(getOf);
  }

  /** `<Group 3 members>`, `<Group 'crawlers' 3 members>`. */
  toString(): string {
    return `<${this.constructor.name}${quotedName(this)} ${this._members.size} member${this._members.size === 1 ? '' : 's'}>`;
  }

  /** @internal For run-info: what a waiting greenlet waits on. */
  describe(): string {
    return this.toString();
  }

  // -------------------------------------------------------------------------------
  // Internal: membership, and the slot protocol of internal/imap.ts (a Group has no bound).

  /** @internal */ held(): boolean {
    return this._members.size > 0;
  }
  /** @internal */ heldBy(g: hub.Core): boolean {
    return this._members.has(g as Greenlet);
  }
  /** @internal */ soleHolder(): null {
    return null;
  }
  /** @internal */ holders(): Holder[] {
    return membersAsHolders(this._members);
  }

  /** @internal */
  _adopt(g: Greenlet, w: Watcher): void {
    this._members.add(g);
    if (!this._listed) enlist(this);
    if (w === this._watcher) g._watch(w); // membership alone does not observe its outcome
    else g[kAddWatcher](w); // a map task's outcome is consumed: observed
  }

  /** @internal A member died or was discarded: forget it, wake joiners, free its slot. */
  _discard(g: Greenlet): boolean {
    if (!this._members.delete(g)) return false;
    this._dying?.delete(g);
    const js = this._joiners;
    if (js !== null) {
      if (g.dead && !g.successful()) rejectRaisers(js, g);
      if (this._members.size === 0) {
        this._joiners = null;
        for (const op of js) op.resolve(true);
      }
    }
    this._slotFreed();
    return true;
  }

  /** @internal */ protected _slotFreed(): void {}
  /** @internal */ get _window(): number {
    return Infinity;
  }
  /** @internal */ _requestSlot(_f: SlotClient): boolean {
    return true;
  }
  /** @internal */ _cancelSlot(_f: SlotClient): void {}
  /** @internal */ _releaseSlot(): void {}
  /** @internal */ _addTask(g: Greenlet, w: Watcher): void {
    this._adopt(g, w);
  }
  /** @internal A Group's map workers never park (every item has its own from the start). */
  _park(_f: ParkedMap & SlotClient): boolean {
    return false;
  }
}

function startGreenlet(g: Greenlet): void {
  g.start();
}

function getOf<T>(g: Greenlet<T>): Promise<T> {
  return g.get();
}

/**
 * A group with at most `capacity` members: `spawn` waits for a free slot (back-pressure),
 * in FIFO order with every other waiter. The greenlet is made at the call, so its `parent`
 * and AsyncLocalStorage context are the caller's even when it waited for its slot.
 * @example
 * import { Pool, sleep } from 'greenio';
 * const pool = new Pool(2);
 * for (let i = 0; i < 5; i++) await pool.spawn(sleep, 10); // the third call waits
 * for await (const n of pool.imap(async (x: number) => x * 2, [1, 2, 3])) console.log(n); // 2, 4, 6
 * await pool.join();
 */
export class Pool extends Group {
  /** The most members it holds at once (gevent's `pool.size`). */
  readonly capacity: number;
  /** @internal Slots granted to a map, not yet filled by its task. */
  _reserved = 0;
  readonly #line = new SlotLine();

  /**
   * A pool of at most `capacity` greenlets at once (an integer >= 1); `options.name`
   * names it in run-info and `greenio ps`.
   */
  constructor(capacity: number, options?: GroupOptions) {
    checkInt('capacity', capacity, 1);
    super(undefined, options);
    this.capacity = capacity;
  }

  /** How many more members it can take now without waiting. */
  freeCount(): number {
    const n = this.capacity - this._members.size - this._reserved;
    return n > 0 ? n : 0;
  }

  /** True when `spawn` or `add` would wait. */
  full(): boolean {
    return this.freeCount() === 0;
  }

  /**
   * Spawn `fn(...args)` in a new member once a slot is free: resolves to the greenlet
   * (started) at once if one is, else when one frees up, in the order callers began
   * waiting. A kill or Timeout of the caller while it waits leaves no slot taken and the
   * greenlet never runs. Not a thenable, so `await pool.spawn(f)` gives the greenlet.
   */
  override spawn<A extends unknown[], T>(fn: (...args: A) => T | Promise<T>, ...args: A): Spawned<this, Awaited<T>> {
    checkFunction('fn', fn);
    if (this.#line.head === null && this.freeCount() > 0) {
      // A member before it starts (gevent adds, then the greenlet runs later): started
      // from the promise's own reaction, queued before the caller's `await` of it, so
      // the caller resumes before a function that returns at once dies and leaves.
      const g = new Greenlet<Awaited<T>>(fn as unknown as (...a: never[]) => Awaited<T>, ...args);
      this._adopt(g, this._watcher);
      const p = Promise.resolve(g);
      void p.then(startGreenlet);
      return p as unknown as Spawned<this, Awaited<T>>;
    }
    // Made now, started when a slot frees: it keeps this caller's context and parent.
    const g = new Greenlet<Awaited<T>>(fn as unknown as (...a: never[]) => Awaited<T>, ...args);
    return hub.wait<Greenlet>(K_SPAWN, g, SPAWN, new SlotNode(this.#line, g)) as unknown as Spawned<this, Awaited<T>>;
  }

  /**
   * Make `greenlet` a member (it should not be started yet: it could run before a slot
   * frees), waiting for a slot: with `block: false` a full pool rejects at once with
   * `QueueFull`, and so does a wait that reaches `timeout`. A dead greenlet or a member is
   * left as is.
   */
  override add(greenlet: Greenlet, options?: PoolAddOptions): Promise<void> {
    checkGreenlet(greenlet);
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    const block = checkBoolean('block', o.block, true);
    if (greenlet.dead || this._members.has(greenlet)) return RESOLVED;
    if (this.#line.head === null && this.freeCount() > 0) {
      this._adopt(greenlet, this._watcher);
      return RESOLVED;
    }
    if (!block) return Promise.reject(new QueueFull('pool is full'));
    const n = new SlotNode(this.#line, greenlet);
    n.ms = ms;
    return hub.wait<void>(K_ADD, greenlet, ADD, n, ms);
  }

  /**
   * Wait until a slot is free, without taking it: resolves to the number of free slots
   * (at once if there are any), or `0` at `timeout`.
   */
  waitAvailable(options?: WaitAvailableOptions): Promise<number> {
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    const free = this.freeCount();
    if (free > 0) return Promise.resolve(free);
    return hub.wait<number>(K_AVAIL, this, AVAIL, new SlotNode(this.#line, null), ms);
  }

  /** @internal Greenlets waiting for a slot (spawn, add, waitAvailable), first come first. */
  waiting(): AnyOp[] {
    return this.#line.ops();
  }
  /** @internal */ override held(): boolean {
    return this._members.size > 0 || this.#line.head !== null;
  }

  /** `<Pool 3/10>`, `<Pool 'fetchers' 10/10, 4 waiting>`. */
  override toString(): string {
    const waiting = this.#line.length;
    return `<Pool${quotedName(this)} ${this._members.size + this._reserved}/${this.capacity}${waiting > 0 ? `, ${waiting} waiting` : ''}>`;
  }

  /** @internal Hand free slots to waiters, first come first served. Only schedules. */
  _serve(): void {
    serveLine(this.#line, this);
  }

  /** @internal */ protected override _slotFreed(): void {
    if (this.#line.head !== null) this._serve();
  }
  /** @internal */ override get _window(): number {
    return this.capacity;
  }
  /** @internal */ override _requestSlot(f: SlotClient): boolean {
    if (this.#line.head === null && this.freeCount() > 0) {
      this._reserved++;
      return true;
    }
    this.#line.pushClient(f);
    return false;
  }
  /** @internal Map workers park only while no one else waits for a slot (the map itself may). */
  override _park(f: ParkedMap & SlotClient): boolean {
    const h = this.#line.head;
    return (h === null || (h.item === f && h.next === null)) && this.#line.parked(f);
  }
  /** @internal */ override _cancelSlot(f: SlotClient): void {
    this.#line.removeClient(f);
  }
  /** @internal */ override _releaseSlot(): void {
    this._reserved--;
    this._serve();
  }
  /** @internal */ override _addTask(g: Greenlet, w: Watcher): void {
    this._reserved--;
    this._adopt(g, w);
  }
}
