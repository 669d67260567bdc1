// The lock/semaphore cycles and Queue(1) items that bench/resources.ts, _resources-ab.ts and
// _resources-then.ts time, written once over the three greenio calls they need, so each
// passes its own greenio (this tree's, or an older tree's loaded from ROOT). Imports nothing
// of greenio itself: _resources-then.ts must load it from another tree.

export type Sem = { acquire(): Promise<boolean>; release(): void };
export type Q = { put(x: number | null): Promise<void>; get(): Promise<number | null> };
export interface Toolkit<G> {
  spawn(fn: () => Promise<void>): G;
  joinAll(gs: G[], options: { raiseError: boolean }): Promise<unknown>;
  sleep(ms: number): Promise<void>;
}

/** `cycles` acquire/release cycles of `lock`, shared by `greenlets` greenlets; `yieldInside`: each holder sleeps(0). */
export async function lockCycles<G>(k: Toolkit<G>, lock: Sem, cycles: number, greenlets: number, yieldInside: boolean): Promise<void> {
  const per = cycles / greenlets;
  const gs = new Array<G>(greenlets);
  for (let i = 0; i < greenlets; i++) {
    gs[i] = k.spawn(async () => {
      for (let j = 0; j < per; j++) {
        await lock.acquire();
        if (yieldInside) await k.sleep(0);
        lock.release();
      }
    });
  }
  await k.joinAll(gs, { raiseError: true });
}

/** `items` items put by one greenlet and got by another through `q` (a Queue(1)), then a null to stop. */
export async function queueItems<G>(k: Toolkit<G>, q: Q, items: number): Promise<void> {
  const producer = k.spawn(async () => {
    for (let i = 0; i < items; i++) await q.put(i);
    await q.put(null);
  });
  const consumer = k.spawn(async () => {
    while ((await q.get()) !== null);
  });
  await k.joinAll([producer, consumer], { raiseError: true });
}
