// A Channel's or Queue's hand-off lets the hub reuse the waiter's op for a later wait
// (switch.ts `recycle`): a reused op must be a fresh wait in every way that shows (run-info,
// kill, Timeout, subscribers), and an op anyone else may hold must never be reused.
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { Channel } from '../src/channel.js';
import { GreenletExit, QueueFull, TimeoutError, getCurrent, joinAll, sleep, spawn, withTimeout } from '../src/index.js';
import { opsOf, opText, type AnyOp } from '../src/hub/index.js';
import { config } from '../src/internal/config.js';

const tick = () => sleep(0);

/** `n` items through `ch` from one greenlet to another; returns what the getter got. */
async function handOffs(ch: Channel<number>, n: number): Promise<number[]> {
  const got: number[] = [];
  await joinAll([spawn(async () => { for (let i = 0; i < n; i++) await ch.put(i); }), spawn(async () => { for (let i = 0; i < n; i++) got.push(await ch.get()); })], { raiseError: true });
  return got;
}

describe('Channel and Queue: a hand-off op reused for a later wait', () => {
  it('serves the next wait as a fresh op: its kind, its queue, its flow, its start time', async () => {
    const ch = new Channel<number>();
    const first = spawn(() => ch.get());
    await tick();
    const [op] = opsOf(first) as [AnyOp];
    expect(opText(op)).toBe('queue.get Channel getters=1 putters=0');
    const q = new Queue<string>(1, { name: 'jobs' });
    q.putNowait('full');
    const before = performance.now();
    void ch.put(1); // hands 1 to `first`: its op is done with
    const put = q.put('next'); // main's wait, made at once
    const again = opsOf(getCurrent()).find((o) => o.kind.name === 'queue.put')!;
    expect(again).toBe(op); // the same object, reused
    expect(again.settled).toBe(false);
    expect(opText(again)).toBe("queue.put Queue 'jobs' maxsize=1 size=1 getters=0 putters=1");
    expect(again.since).toBeGreaterThanOrEqual(before);
    expect(again.flow).toBe(getCurrent());
    expect(await first.get()).toBe(1);
    expect(await q.get()).toBe('full');
    await put;
    expect(await q.get()).toBe('next');
  });

  it('a killed getter, after many hand-offs, wakes at once and the next put goes to the next getter', async () => {
    const ch = new Channel<string>();
    expect(await handOffs(ch as unknown as Channel<number>, 200)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const killed = spawn(() => ch.get());
    const next = spawn(() => ch.get());
    await tick();
    await killed.kill();
    expect(killed.value).toBeInstanceOf(GreenletExit);
    expect(ch.balance).toBe(-1);
    await ch.put('x');
    expect(await next.get()).toBe('x');
    expect(ch._waiterCount).toBe(0);
  });

  it('a Timeout around a getter whose op was reused rejects at once and leaves no waiter', async () => {
    const ch = new Channel<number>();
    await handOffs(ch, 100);
    const t0 = performance.now();
    await expect(withTimeout(30, () => ch.get())).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(() => ch.putNowait(1)).toThrow(QueueFull);
    expect(ch._waiterCount).toBe(0);
  });

  it('an op given to a greenio:io:start subscriber is never reused: each wait it saw keeps its own', async () => {
    const seen: AnyOp[] = [];
    const onStart = (m: unknown) => seen.push((m as { op: AnyOp }).op);
    diagnostics.subscribe('greenio:io:start', onStart);
    try {
      await handOffs(new Channel<number>(), 50);
    } finally {
      diagnostics.unsubscribe('greenio:io:start', onStart);
    }
    const waits = seen.filter((op) => op.kind.name === 'queue.get' || op.kind.name === 'queue.put');
    expect(waits.length).toBeGreaterThanOrEqual(50);
    expect(new Set(waits).size).toBe(waits.length);
    for (const op of waits) expect(op.settled).toBe(true);
  });

  it('an op given to a greenio:io:end subscriber alone is never reused: each end it saw keeps its op', async () => {
    const ended: Array<{ op: AnyOp; kind: string; flow: unknown }> = [];
    const onEnd = (m: unknown) => {
      const { op } = m as { op: AnyOp };
      ended.push({ op, kind: op.kind.name, flow: op.flow });
    };
    diagnostics.subscribe('greenio:io:end', onEnd);
    try {
      const q = new Queue<number>(1);
      const ch = new Channel<number>();
      // Alternate two kinds of wait, so a reused op would read as another kind or greenlet.
      await joinAll([
        spawn(async () => { for (let i = 0; i < 50; i++) { await ch.put(i); await q.put(i); } }),
        spawn(async () => { for (let i = 0; i < 50; i++) { await ch.get(); await q.get(); } }),
      ], { raiseError: true });
    } finally {
      diagnostics.unsubscribe('greenio:io:end', onEnd);
    }
    const waits = ended.filter((e) => e.kind.startsWith('queue.'));
    expect(waits.length).toBeGreaterThanOrEqual(50);
    expect(new Set(waits.map((e) => e.op)).size).toBe(waits.length);
    for (const e of waits) {
      expect(e.op.kind.name).toBe(e.kind);
      expect(e.op.flow).toBe(e.flow);
      expect(e.op.settled).toBe(true);
    }
  });

  it('a wait made in the context of a greenlet that died of an error rejects with that error at once, leaving no waiter', async () => {
    const ch = new Channel<number>();
    const boom = new Error('boom');
    let later!: Promise<number>;
    let ready!: () => void;
    const go = new Promise<void>((r) => (ready = r));
    const g = spawn(async () => {
      // Runs on in the greenlet's context after its death, as a promise chain it did not await.
      later = go.then(() => ch.get());
      throw boom;
    });
    await g.join();
    await handOffs(new Channel<number>(), 20); // spare ops ready (the join's op, an edge, is never one)
    ready();
    await expect(later).rejects.toBe(boom);
    expect(ch._waiterCount).toBe(0);
  });

  it('round trips over two Queue(1) stay in order when wake-ups are deferred to the next turn', async () => {
    const interval = config.switchInterval;
    config.switchInterval = 0; // every 64th wake-up waits for the loop: a deferred op is held, not reused
    try {
      const a = new Queue<number>(1);
      const b = new Queue<number>(1);
      const back: number[] = [];
      await joinAll([
        spawn(async () => { for (let i = 0; i < 2000; i++) { await a.put(i); back.push(await b.get()); } }),
        spawn(async () => { for (let i = 0; i < 2000; i++) await b.put((await a.get()) * 2); }),
      ], { raiseError: true });
      expect(back).toEqual(Array.from({ length: 2000 }, (_, i) => i * 2));
      expect(a._waiterCount + b._waiterCount).toBe(0);
    } finally {
      config.switchInterval = interval;
    }
  });
});
