/**
 * `Channel`: gevent's rendezvous channel, a queue that holds nothing. `put` waits until
 * a getter takes its item and `get` until a putter offers one; both sides are served in
 * the order they came. A killed or timed-out waiter leaves it as if it had never waited:
 * an item is handed over only when both sides meet, and that hand-over is final.
 */
import * as hub from './hub/index.js';
import { nameFromOptions, nameOf } from './instrument/resources.js';
import { waitDetail, type WaitTarget } from './instrument/leaks.js';
import type { OpHandler } from './hub/index.js';
import { QueueEmpty, QueueFull, QueueShutDown } from './errors.js';
import { GET_WAIT, NO_BLOCK, PUT_WAIT, WaitList, handOver, iterateUntilShutDown, parseWait, type QueueWaitOptions } from './hub/index.js';

const K_GET = hub.kind('queue.get');
const K_PUT = hub.kind('queue.put');
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A rendezvous channel: `put(item)` resolves once a getter has taken `item`.
 * @example
 * import { Channel, spawn } from 'greenio';
 * const ch = new Channel<string>();
 * const producer = spawn(async () => {
 *   await ch.put('ping'); // waits for the getter below
 *   return 'delivered';
 * });
 * console.log(await ch.get()); // 'ping'
 * console.log(await producer.get()); // 'delivered'
 */
export class Channel<T> implements AsyncIterable<T> {
  /** @internal Blocked getters, in arrival order. */ readonly _getters = new WaitList();
  /** @internal Blocked putters; each op's `data` is its item. */ readonly _putters = new WaitList();
  // What its waits name, made at the first one: a WaitTarget holding it weakly (leak reports).
  #target: WaitTarget | null = null;
  /** @internal */ _shut = false;

  /** `options.name`: a name for run-info and `greenio ps`/`top`. */
  constructor(options?: { name?: string }) {
    nameFromOptions(this, options);
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** Blocked putters minus blocked getters (gevent's `balance`). */
  get balance(): number {
    return this._putters.live - this._getters.live;
  }

  /** Always 0: a channel holds no item. */
  qsize(): number {
    return 0;
  }

  /** Always true (gevent): a channel holds no item. */
  empty(): boolean {
    return true;
  }

  /** Always true (gevent): a put can complete only by meeting a getter. */
  full(): boolean {
    return true;
  }

  /**
   * Offer `item` and wait until a getter takes it (up to `timeout` ms, then `QueueFull`;
   * the item is then not delivered). With a getter already waiting, it is handed over at
   * once. With `block: false`, rejects with `QueueFull` unless a getter is waiting.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    const ms = options === undefined ? undefined : parseWait(options);
    if (this._shut) return Promise.reject(new QueueShutDown());
    const getter = this._getters.take();
    if (getter !== undefined) {
      handOver(getter, item);
      return RESOLVED;
    }
    if (ms === NO_BLOCK) return Promise.reject(new QueueFull());
    return hub.wait<void>(K_PUT, (this.#target ??= waitDetail(this, nameOf(this), null, this)), PUT_WAIT, item, ms);
  }

  /** Hand `item` to a waiting getter; throws `QueueFull` if none waits. */
  putNowait(item: T): void {
    if (this._shut) throw new QueueShutDown();
    const getter = this._getters.take();
    if (getter === undefined) throw new QueueFull();
    handOver(getter, item);
  }

  /**
   * Take an item from the first waiting putter, or wait for one (up to `timeout` ms,
   * then `QueueEmpty`). With `block: false`, rejects with `QueueEmpty` unless a putter
   * is waiting.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    const ms = options === undefined ? undefined : parseWait(options);
    const putter = this._putters.take();
    if (putter !== undefined) {
      const item = putter.data as T;
      handOver(putter, undefined);
      return Promise.resolve(item);
    }
    if (this._shut) return Promise.reject(new QueueShutDown());
    if (ms === NO_BLOCK) return Promise.reject(new QueueEmpty());
    return hub.wait<T>(K_GET, (this.#target ??= waitDetail(this, nameOf(this), null, this)), GET_WAIT as OpHandler<T>, undefined, ms);
  }

  /** Take an item from a waiting putter; throws `QueueEmpty` if none waits. */
  getNowait(): T {
    const putter = this._putters.take();
    if (putter === undefined) throw this._shut ? new QueueShutDown() : new QueueEmpty();
    const item = putter.data as T;
    handOver(putter, undefined);
    return item;
  }

  /**
   * Shut it down: every blocked getter and putter is woken with `QueueShutDown` (a
   * blocked putter's item is not delivered), and later puts and gets reject with it.
   */
  shutdown(): void {
    this._shut = true;
    for (const op of this._getters.clear()) op.reject(new QueueShutDown());
    for (const op of this._putters.clear()) op.reject(new QueueShutDown());
  }

  /** True once `shutdown()` was called. */
  get isShutdown(): boolean {
    return this._shut;
  }

  /** Iterate with `get()` until the channel is shut down; then the loop ends cleanly. */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return iterateUntilShutDown(() => this.get(), () => this._shut);
  }

  /** `<Channel getters=0 putters=1>`, for logs. */
  toString(): string {
    return `<${this.describe()}>`;
  }

  /** @internal What run-info shows for a wait on this channel. */
  describe(): string {
    const n = nameOf(this);
    return `Channel${n === undefined ? '' : ` '${n}'`} getters=${this._getters.live} putters=${this._putters.live}`;
  }

  /** @internal Blocked getters and putters (for tests). */
  get _waiterCount(): number {
    return this._getters.live + this._putters.live;
  }
}
