/**
 * An insertion-ordered set whose members carry their own links (`snext`, `sprev`, `sin`):
 * a greenlet's sub-flows holding ops (ops.ts `Rare.subflows`). Adding and deleting are
 * O(1) and hash nothing (issue 18: a `Set` hashed each fresh withTimeout flow in and out
 * at every wait). Limit: a member sits in one FlowSet at a time.
 */

/** What a member carries (ops.ts `SubFlow`). */
export interface Linked<T> {
  snext: T | null;
  sprev: T | null;
  /** In a FlowSet now. */
  sin: boolean;
}

/** Iterates in insertion order, like a `Set`; `size`, `add` and `delete` as a `Set`'s. */
export class FlowSet<T extends Linked<T>> {
  #head: T | null = null;
  #tail: T | null = null;
  size = 0;

  add(f: T): void {
    if (f.sin) return;
    f.sin = true;
    f.sprev = this.#tail;
    f.snext = null;
    if (this.#tail === null) this.#head = f;
    else this.#tail.snext = f;
    this.#tail = f;
    this.size++;
  }

  delete(f: T): boolean {
    if (!f.sin) return false;
    f.sin = false;
    const p = f.sprev;
    const n = f.snext;
    if (p === null) this.#head = n;
    else p.snext = n;
    if (n === null) this.#tail = p;
    else n.sprev = p;
    f.sprev = f.snext = null;
    this.size--;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let f = this.#head; f !== null; ) {
      const next = f.snext; // read first: a reader may delete `f` while iterating
      yield f;
      f = next;
    }
  }
}
