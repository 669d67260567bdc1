/**
 * The options of `Group` and `Pool` methods and the input type of their maps (public
 * types, re-exported by `pool.ts`): kept apart so the classes' file holds only behaviour.
 */
/** Options of the `Group` and `Pool` constructors. */
export interface GroupOptions {
  /** A name for run-info, `greenio ps` and `greenio top` (a named group or pool is always listed). */
  name?: string;
}

/** Options of `Group.join()`. */
export interface GroupJoinOptions {
  /** Stop waiting after this many ms (the join then resolves `false`). */
  timeout?: number;
  /** Throw the error of the first member that fails while waiting. */
  raiseError?: boolean;
}

/** Options of `Pool.add()`. */
export interface PoolAddOptions {
  /** Wait for a free slot (default true); with false, a full pool rejects at once. */
  block?: boolean;
  /** With `block`, reject with `QueueFull` after this many ms. */
  timeout?: number;
}

/** Options of `Pool.waitAvailable()`. */
export interface WaitAvailableOptions {
  /** Resolve `0` after this many ms without a free slot. */
  timeout?: number;
}

/** Anything to map over: a sync or an async iterable. */
export type MapInput<T> = Iterable<T> | AsyncIterable<T>;
