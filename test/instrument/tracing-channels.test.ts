// The TracingChannels tracing:greenio.greenlet|wait|client:* : the exact event sequence
// and context objects of a scripted workload (spawn, sleep, a queue wait, a kill, a
// timeout), stores entered for a greenlet's body, and nothing published without subscribers.
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { Group, GreenletExit, Pool, Queue, spawn, sleep, withTimeout, getCurrent } from '../../src/index.js';
import { greenletTracing, waitTracing, clientTracing, taskTracing } from '../../src/hub/index.js';

type Ctx = Record<string, unknown>;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

/** Subscribe to every event of `names`; returns the log (with the outcome as each event saw it) and the unsubscriber. */
function record(names: string[]): { log: [string, string, Ctx, unknown][]; off: () => void } {
  const log: [string, string, Ctx, unknown][] = [];
  const offs: (() => void)[] = [];
  for (const name of names) {
    const tc = diagnostics.tracingChannel(name);
    const handlers = Object.fromEntries(EVENTS.map((ev) => [ev, (ctx: unknown) => log.push([name, ev, ctx as Ctx, (ctx as Ctx).outcome])]));
    tc.subscribe(handlers as never);
    offs.push(() => tc.unsubscribe(handlers as never));
  }
  return { log, off: () => offs.forEach((f) => f()) };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe('tracing:greenio.* TracingChannels', () => {
  it('a scripted workload publishes the exact event sequence, one context object per operation', async () => {
    const { log, off } = record(['greenio.greenlet', 'greenio.wait']);
    cleanup = off;
    const q = new Queue<string>();
    const parent = spawn(async function parentFn() {
      await sleep(1);
      const sleeper = spawn(async function sleeperFn() {
        await sleep(60_000);
      });
      sleeper.name = 'sleeper';
      const item = await q.get();
      await sleeper.kill();
      await withTimeout(20, () => sleep(60_000)).catch((e: unknown) => e);
      return item;
    });
    parent.name = 'parent';
    // Until the sleeper is asleep (so the parent waits on the queue), however slow the machine.
    while (!log.some(([, ev, c]) => ev === 'start' && c.name === 'sleeper' && c.kind === 'sleep')) await sleep(1);
    q.put('x');
    await parent.join();
    off();
    const main = getCurrent();
    // Only the test's greenlets: the main greenlet's own sleep/join are in the log too.
    const mine = log.filter(([, , c]) => c.id !== main.id);
    const seq = mine.map(([ch, ev, c, outcome]) => `${ch === 'greenio.greenlet' ? 'g' : 'w'}:${ev}:${c.name}:${c.kind}${outcome ? `:${outcome}` : ''}`);
    expect(seq).toEqual([
      'g:start:parent:greenlet',
      'w:start:parent:sleep',
      'w:end:parent:sleep',
      'g:end:parent:greenlet',
      'w:asyncStart:parent:sleep:ok',
      'w:asyncEnd:parent:sleep:ok',
      // The sleeper starts once the parent is parked on the queue.
      'w:start:parent:queue.get',
      'w:end:parent:queue.get',
      'g:start:sleeper:greenlet',
      'w:start:sleeper:sleep',
      'w:end:sleeper:sleep',
      'g:end:sleeper:greenlet',
      'w:asyncStart:parent:queue.get:ok',
      'w:asyncEnd:parent:queue.get:ok',
      // kill() cancels the sleeper's sleep at once, then joins it; it dies a turn later.
      'w:error:sleeper:sleep:killed',
      'w:asyncStart:sleeper:sleep:killed',
      'w:asyncEnd:sleeper:sleep:killed',
      'w:start:parent:join',
      'w:end:parent:join',
      'g:asyncStart:sleeper:greenlet:killed',
      'g:asyncEnd:sleeper:greenlet:killed',
      'w:asyncStart:parent:join:ok',
      'w:asyncEnd:parent:join:ok',
      'w:start:parent:sleep',
      'w:end:parent:sleep',
      'w:error:parent:sleep:timedOut',
      'w:asyncStart:parent:sleep:timedOut',
      'w:asyncEnd:parent:sleep:timedOut',
      'g:asyncStart:parent:greenlet:ok',
      'g:asyncEnd:parent:greenlet:ok',
    ]);
    // One context object per operation, carried through all its events.
    const byOp = new Map<Ctx, string[]>();
    for (const [, ev, c] of mine) byOp.set(c, [...(byOp.get(c) ?? []), ev]);
    expect(byOp.size).toBe(7); // 2 greenlets + 5 waits
    for (const evs of byOp.values()) {
      expect(evs.filter((e) => e !== 'error')).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    }
    const pCtx = mine[0]![2];
    expect(pCtx).toMatchObject({ greenlet: parent, id: parent.id, name: 'parent', parentId: main.id, kind: 'greenlet', detail: 'parentFn', outcome: 'ok', result: 'x' });
    const sCtx = mine.find(([ch, , c]) => ch === 'greenio.greenlet' && c.name === 'sleeper')![2];
    expect(sCtx).toMatchObject({ id: parent.id + 1, parentId: parent.id, detail: 'sleeperFn', outcome: 'killed' });
    expect((sCtx.result as Error).name).toBe('GreenletExit');
    const waits = mine.filter(([ch, ev]) => ch === 'greenio.wait' && ev === 'asyncEnd').map(([, , c]) => c);
    expect(waits.map((c) => [c.kind, c.detail, c.isWait])).toEqual([
      ['sleep', 1, true],
      ['queue.get', q, true],
      ['sleep', 60_000, true],
      ['join', sCtx.greenlet, true],
      ['sleep', 60_000, true],
    ]);
    for (const c of waits) expect(c.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a greenlet that throws publishes error with the error before asyncStart/asyncEnd', async () => {
    const { log, off } = record(['greenio.greenlet']);
    cleanup = off;
    const boom = new Error('boom');
    const g = spawn(() => {
      throw boom;
    });
    await g.join();
    off();
    const mine = log.filter(([, , c]) => c.greenlet === g);
    expect(mine.map(([, ev]) => ev)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(mine[2]![2]).toMatchObject({ outcome: 'error', error: boom });
  });

  it('stores bound to the greenlet channel are entered for the body and everything it schedules', async () => {
    const store = new AsyncLocalStorage<string>();
    greenletTracing.start.bindStore(store, (ctx) => `span of ${ctx.name}`);
    cleanup = () => greenletTracing.start.unbindStore(store);
    const seen: (string | undefined)[] = [];
    const g = spawn(async () => {
      seen.push(store.getStore());
      await sleep(1);
      seen.push(store.getStore());
      await new Promise<void>((r) => setTimeout(r, 1));
      seen.push(store.getStore());
    });
    g.name = 'worker';
    expect(store.getStore()).toBe(undefined);
    await g.join();
    // The name is read when the body starts: set after spawn, before it ran.
    expect(seen).toEqual(['span of worker', 'span of worker', 'span of worker']);
    expect(store.getStore()).toBe(undefined);
  });

  it('publishes nothing, and builds no context, without subscribers', async () => {
    expect(greenletTracing.hasSubscribers).toBe(false);
    expect(waitTracing.hasSubscribers).toBe(false);
    expect(clientTracing.hasSubscribers).toBe(false);
    // A subscriber that arrives while a greenlet runs sees no half operation: its
    // start was not traced, so neither is its end.
    const { log, off } = record(['greenio.greenlet', 'greenio.wait']);
    cleanup = off;
    off();
    const g = spawn(async () => {
      await sleep(5);
    });
    await sleep(1);
    const late = record(['greenio.greenlet', 'greenio.wait']);
    cleanup = late.off;
    await g.join();
    late.off();
    expect(log).toEqual([]);
    expect(late.log.filter(([, , c]) => c.greenlet === g)).toEqual([]);
  });

  it('tracing:greenio.task: one context per map task, with its map, pool, index, greenlet and outcome', async () => {
    const { log, off } = record(['greenio.task']);
    cleanup = off;
    const pool = new Pool(2);
    const doubled = await pool.map(async function double(n: number) {
      await sleep(n);
      expect(getCurrent().toString()).toMatch(/double/); // the greenlet keeps the user's function name
      return n * 2;
    }, [3, 1, 2]);
    expect(doubled).toEqual([6, 2, 4]);
    const contexts = [...new Set(log.map(([, , c]) => c))];
    expect(contexts.map((c) => [c.kind, c.index, c.outcome, c.result])).toEqual([
      ['group.map', 0, 'ok', 6],
      ['group.map', 1, 'ok', 2],
      ['group.map', 2, 'ok', 4],
    ]);
    for (const c of contexts) expect([String(c.pool), c.greenlet === undefined]).toEqual([expect.stringMatching(/Pool/), false]);
    for (const c of contexts) expect(log.filter(([, , x]) => x === c).map(([, ev]) => ev)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);

    // imapUnordered: a failing task and a killed one say so.
    log.length = 0;
    const group = new Group();
    const it = group.imapUnordered(async (n: number) => {
      if (n === 1) throw new Error('bad item');
      await sleep(60_000);
      return n;
    }, [1, 2]);
    await expect(it.next()).rejects.toThrow('bad item');
    await group.kill();
    await sleep(5);
    const byIndex = new Map(log.map(([, , c]) => [c.index, c]));
    expect(byIndex.get(0)).toMatchObject({ kind: 'group.imap', outcome: 'error' });
    expect(byIndex.get(1)).toMatchObject({ kind: 'group.imap', outcome: 'killed' });
    expect(byIndex.get(1)!.error).toBeInstanceOf(GreenletExit);
    expect(log.filter(([, ev, c]) => ev === 'error' && c === byIndex.get(0)).length).toBe(1);
    off();
    cleanup = null;
    expect(taskTracing.hasSubscribers).toBe(false);
  });
});
