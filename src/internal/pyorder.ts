/**
 * Python's ordering for `PriorityQueue`, and the heap it is kept in. Numbers and bigints
 * compare by value, strings by code point, arrays element by element as Python compares
 * tuples; any other pair cannot be ordered and throws a `TypeError` quoting both. The
 * heap compares before it moves anything, so a comparison that throws leaves it intact.
 */
import { quote } from './validate.js';

/** Negative when `a` comes first, positive when `b` does, 0 when equal (as for `sort`). */
export type Compare<T> = (a: T, b: T) => number;

const UNORDERABLE = 2;
// The innermost pair that could not be ordered (for the error message).
let badA: unknown;
let badB: unknown;

function isNumeric(t: string): boolean {
  return t === 'number' || t === 'bigint';
}

function order(a: unknown, b: unknown): number {
  const ta = typeof a;
  const tb = typeof b;
  if (isNumeric(ta) && isNumeric(tb)) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  if (ta === 'string' && tb === 'string') return orderStrings(a as string, b as string);
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = a.length < b.length ? a.length : b.length;
    for (let i = 0; i < n; i++) {
      const x: unknown = a[i];
      const y: unknown = b[i];
      // Like Python, equal elements are skipped without being ordered: `[1, obj]` and
      // `[2, obj]` compare by their first elements alone.
      if (x === y) continue;
      const c = order(x, y);
      if (c !== 0) return c;
    }
    return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
  }
  badA = a;
  badB = b;
  return UNORDERABLE;
}

// By code point, as Python does; JavaScript's `<` compares UTF-16 code units, which
// puts U+10000 and above (surrogate pairs) before U+E000..U+FFFF.
function orderStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      const sx = x < 0xe000;
      const sy = y < 0xe000;
      if (sx !== sy) return sx ? 1 : -1;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/**
 * Python's `a < b` as a comparator: numbers, bigints, strings and arrays of them
 * (tuples). Throws a `TypeError` quoting both items for any other pair.
 */
export function pythonCompare(a: unknown, b: unknown): number {
  const c = order(a, b);
  if (c !== UNORDERABLE) return c;
  const inner = badA === a && badB === b ? '' : ` (${quote(badA)} and ${quote(badB)} cannot be ordered)`;
  const msg =
    `PriorityQueue cannot order ${quote(a)} and ${quote(b)}${inner}: items must be numbers, bigints, strings ` +
    'or arrays of them (compared element by element, like Python tuples); give the queue a `compare` function, ' +
    'or put `[priority, sequence, item]`';
  badA = badB = undefined;
  throw new TypeError(msg);
}

/**
 * A binary min-heap, stable: items that compare equal leave in the order they came
 * (each carries a sequence number; Python's heapq gives no such promise).
 */
export class Heap<T> {
  compare: Compare<T>;
  readonly #items: T[] = [];
  readonly #seqs: number[] = [];
  #next = 0;

  constructor(compare: Compare<T>) {
    this.compare = compare;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The smallest item (`undefined` when empty). */
  top(): T {
    return this.#items[0] as T;
  }

  push(item: T): void {
    const items = this.#items;
    const seqs = this.#seqs;
    // Find its place first (comparisons only): a compare that throws changes nothing.
    let pos = items.length;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!(this.compare(item, items[parent]!) < 0)) break;
      pos = parent;
    }
    const seq = this.#next++;
    let hole = items.length;
    items.push(item);
    seqs.push(seq);
    while (hole > pos) {
      const parent = (hole - 1) >> 1;
      items[hole] = items[parent]!;
      seqs[hole] = seqs[parent]!;
      hole = parent;
    }
    items[pos] = item;
    seqs[pos] = seq;
  }

  /** Remove and return the smallest item (the first to come among equals). */
  take(): T {
    const items = this.#items;
    const seqs = this.#seqs;
    const n = items.length - 1;
    const first = items[0] as T;
    if (n <= 0) {
      items.length = 0;
      seqs.length = 0;
      return first;
    }
    const last = items[n]!;
    const lastSeq = seqs[n]!;
    // Where `last` sinks to from the root (comparisons only, nothing moved yet).
    let pos = 0;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.#less(items[right]!, seqs[right]!, items[child]!, seqs[child]!)) child = right;
      if (!this.#less(items[child]!, seqs[child]!, last, lastSeq)) break;
      pos = child;
    }
    items.length = n;
    seqs.length = n;
    // Move each node of the path root → pos up one level. In 1-based numbering the
    // path to node k is k's binary prefixes: k >> depth, ..., k >> 1, k.
    const k = pos + 1;
    let hole = 0;
    for (let s = 30 - Math.clz32(k); s >= 0; s--) {
      const node = (k >> s) - 1;
      items[hole] = items[node]!;
      seqs[hole] = seqs[node]!;
      hole = node;
    }
    items[pos] = last;
    seqs[pos] = lastSeq;
    return first;
  }

  clear(): void {
    this.#items.length = 0;
    this.#seqs.length = 0;
  }

  #less(a: T, sa: number, b: T, sb: number): boolean {
    const c = this.compare(a, b);
    return c < 0 || (c === 0 && sa < sb);
  }
}
