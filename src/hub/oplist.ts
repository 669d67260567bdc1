/**
 * A flow's ops in flight when it holds more than one (ops.ts `Flow.ops`): a `Set` to its
 * readers (instanceof, iteration in insertion order, `size`), kept as a list through the
 * ops' own links (`lprev`, `lnext`). Why not a real `Set` (issue 18): see `OpList`.
 * Limit: a member sits in one OpList at a time; `add` of a member is a no-op.
 */

/** What a member carries (ops.ts `Op`): null links when out of any list. */
export interface ListLinked<T> {
  lprev: T | null;
  lnext: T | null;
}

/**
 * A real `Set` churned by short ops (64 `fs.stat` in flight in one flow) rehashes its
 * table every few dozen adds, and V8 links each obsolete table to its successor (for live
 * iterators): a table promoted to old space then keeps every later table and the ops in
 * it alive through each scavenge until a full GC, so almost every op, its callback and
 * its caller's promise were copied and promoted (48 MB per 256k stats, scavenges 3.5x
 * longer: bench/PROFILE.md "FS18"). Here a removed op's links are cleared at once, so
 * nothing dead in old space points at a young op.
 */
export class OpList<T extends ListLinked<T>> extends Set<T> {
  #head: T | null = null;
  #tail: T | null = null;
  #n = 0;

  constructor(a: T, b: T) {
    super();
    this.add(a);
    this.add(b);
  }

  override get size(): number {
    return this.#n;
  }

  /** The member added last (its `lprev` walks back in order): no iterator, for a caller run once per turn. */
  get last(): T | null {
    return this.#tail;
  }

  override has(x: T): boolean {
    return x.lprev !== null || this.#head === x;
  }

  override add(x: T): this {
    if (this.has(x)) return this;
    x.lprev = this.#tail;
    x.lnext = null;
    if (this.#tail === null) this.#head = x;
    else this.#tail.lnext = x;
    this.#tail = x;
    this.#n++;
    return this;
  }

  override delete(x: T): boolean {
    if (!this.has(x)) return false;
    const p = x.lprev;
    const n = x.lnext;
    if (p === null) this.#head = n;
    else p.lnext = n;
    if (n === null) this.#tail = p;
    else n.lprev = p;
    x.lprev = x.lnext = null;
    this.#n--;
    return true;
  }

  override clear(): void {
    while (this.#head !== null) this.delete(this.#head);
  }

  override *[Symbol.iterator](): SetIterator<T> {
    for (let x = this.#head; x !== null; ) {
      const next = x.lnext; // read first: a reader may delete `x` while iterating
      yield x;
      x = next;
    }
  }

  override values(): SetIterator<T> {
    return this[Symbol.iterator]();
  }

  override keys(): SetIterator<T> {
    return this[Symbol.iterator]();
  }

  override *entries(): SetIterator<[T, T]> {
    for (const x of this) yield [x, x];
  }

  override forEach(fn: (value: T, key: T, set: Set<T>) => void, self?: unknown): void {
    for (const x of this) fn.call(self, x, x, this);
  }
}
