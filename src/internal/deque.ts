/**
 * Where queues keep items: `Deque`, a ring buffer (FIFO queues, waiter lists) and
 * `Stack` (LIFO). A deque's steady put/get allocates nothing, unlike `Array#shift` (O(n)
 * once the array is big); it doubles when full and halves when three quarters empty, so
 * a queue that once held a million items does not keep their slots for ever.
 */

const MIN_CAPACITY = 8;

/** Where a queue keeps its items: its order discipline (FIFO, LIFO, priority). */
export interface Store<T> {
  readonly length: number;
  push(item: T): void;
  /** Remove and return the next item (the store is not empty). */
  take(): T;
  /** The next item, left in place. */
  top(): T;
  clear(): void;
}

/** A FIFO ring buffer: `push` at the back, `take` from the front. */
export class Deque<T> implements Store<T> {
  /** Number of items (read-only outside this class). */
  length = 0;
  #buf: (T | undefined)[];
  #head = 0;
  #mask = MIN_CAPACITY - 1;

  constructor() {
    this.#buf = slots<T>(MIN_CAPACITY);
  }

  /** Append at the back. */
  push(item: T): void {
    if (this.length > this.#mask) this.#resize((this.#mask + 1) * 2);
    this.#buf[(this.#head + this.length) & this.#mask] = item;
    this.length++;
  }

  /** Remove and return the front item (`undefined` when empty). */
  take(): T {
    const i = this.#head;
    const item = this.#buf[i] as T;
    if (this.length === 0) return item;
    this.#buf[i] = undefined; // let the item be collected
    this.#head = (i + 1) & this.#mask;
    if (--this.length < (this.#mask + 1) >> 2 && this.#mask >= MIN_CAPACITY * 4) this.#resize((this.#mask + 1) >> 1);
    return item;
  }

  /** The front item without removing it (`undefined` when empty). */
  top(): T {
    return this.#buf[this.#head] as T;
  }

  /** The `i`-th item from the front (0 ≤ i < length). */
  at(i: number): T {
    return this.#buf[(this.#head + i) & this.#mask] as T;
  }

  /** Remove every item. */
  clear(): void {
    this.#buf = slots<T>(MIN_CAPACITY);
    this.#head = 0;
    this.#mask = MIN_CAPACITY - 1;
    this.length = 0;
  }

  /** Keep only the items for which `keep` returns true, in order. */
  filter(keep: (item: T) => boolean): void {
    const kept: T[] = [];
    for (let i = 0; i < this.length; i++) {
      const item = this.at(i);
      if (keep(item)) kept.push(item);
    }
    this.clear();
    for (const item of kept) this.push(item);
  }

  #resize(capacity: number): void {
    const next = slots<T>(capacity);
    for (let i = 0; i < this.length; i++) next[i] = this.#buf[(this.#head + i) & this.#mask];
    this.#buf = next;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}

// Filled with push so the array is packed (no holes: faster element reads in V8).
function slots<T>(n: number): (T | undefined)[] {
  const a: (T | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}

/** LIFO: a plain array used as a stack. */
export class Stack<T> implements Store<T> {
  readonly #items: T[] = [];
  get length(): number {
    return this.#items.length;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.pop() as T;
  }
  top(): T {
    return this.#items[this.#items.length - 1] as T;
  }
  clear(): void {
    this.#items.length = 0;
  }
}
