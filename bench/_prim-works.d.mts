// Types of what queue-pingpong.ts imports from _prim-works.mjs (the raw promise queue and
// channel); the harnesses' own exports are plain JavaScript and not typed here.

/** A careful hand-written promise queue of at most `max` items (0: unbounded). */
export declare class RawQueue<T> {
  constructor(max: number);
  put(item: T): Promise<void>;
  get(): Promise<T>;
}

/** A raw rendezvous channel: a put waits for a getter, a get for a putter. */
export declare class RawChannel<T> {
  put(item: T): Promise<void>;
  get(): Promise<T>;
}
