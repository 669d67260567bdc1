/**
 * A wait's detail that names its primitive weakly (instrument/leaks.ts's WaitTarget), so a
 * parked waiter does not keep alive a primitive nothing else can reach; `detailOwner`
 * gives the primitive back to what publishes a wait (io:start, tracing contexts). Limit:
 * once the primitive was collected the detail stands for it (it still describes itself).
 */

/** A detail that holds its primitive weakly. */
export abstract class WeakDetail {
  /** The primitive, or null once collected. */
  abstract owner(): object | null;
  abstract describe(): string;
}

/** The primitive a wait's detail names: the owner of a WeakDetail while it lives, else the detail. */
export function detailOwner(detail: unknown): unknown {
  return detail instanceof WeakDetail ? (detail.owner() ?? detail) : detail;
}
