// Resources in run-info and in the snapshot, in this process: holders of locks and
// semaphores (who, since when), waiters, names given to primitives (checked like any
// argument), formatRunInfo({ json: true }) and the SIGUSR2 dump as JSON.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AsyncResult,
  BoundedSemaphore,
  Channel,
  Event,
  Lock,
  Pool,
  PriorityQueue,
  Queue,
  RLock,
  Semaphore,
  enableRunInfoSignal,
  formatRunInfo,
  killAll,
  sleep,
  spawn,
  type Greenlet,
  type PsSnapshot,
} from '../../src/index.js';
import { listedCount } from '../../src/instrument/resources.js';

let live: Greenlet[] = [];
afterEach(async () => {
  await killAll(live);
  live = [];
});
const json = (): PsSnapshot => JSON.parse(formatRunInfo({ json: true })) as PsSnapshot;

describe('resources', () => {
  it('a held Lock lists its holder and its waiters, in the JSON and in run-info text', async () => {
    const lock = new Lock({ name: 'db' });
    const holder = spawn(async function holdsIt() {
      await lock.acquire();
      await sleep(10_000);
    });
    await sleep(5);
    const waiter = spawn(async function wantsIt() {
      await lock.acquire();
    });
    live = [holder, waiter];
    await sleep(20);
    const r = json().resources.find((x) => x.name === 'db')!;
    expect(r).toMatchObject({ type: 'Lock', state: "<Lock 'db' counter=0, 1 waiting>" });
    expect(r.holders).toEqual([{ greenlet: holder.id, forMs: expect.any(Number), dead: false }]);
    expect(r.holders[0]!.forMs).toBeGreaterThanOrEqual(10);
    expect(r.waiters).toEqual([{ greenlet: waiter.id, kind: 'semaphore.acquire', forMs: expect.any(Number) }]);
    const text = formatRunInfo();
    expect(text).toMatch(new RegExp(`R${r.id} <Lock 'db' counter=0, 1 waiting>\\n {4}held by Greenlet-${holder.id} \\(holdsIt\\) \\[#${holder.id}\\] for`));
    expect(text).toMatch(/waited on by Greenlet-\d+ \(wantsIt\) \[#\d+\] \(semaphore\.acquire\) for/);
  });

  it('a free lock taken first thing by a new greenlet after a spell with no op is held since that greenlet started', async () => {
    const lock = new Lock({ name: 'fresh' });
    const rl = new RLock({ name: 'fresh-r' });
    const sem = new Semaphore(3, { name: 'fresh-s' });
    // One second with no greenio op anywhere (a raw timer, not sleep()): the hub's last
    // switch point is that old when the greenlet takes the free locks.
    await new Promise<void>((r) => setTimeout(r, 1000));
    const g = spawn(async function takesAll() {
      await lock.acquire();
      await rl.acquire();
      await sem.acquire();
      await sem.acquire(); // a second permit: the holders' ring, not the first slot
      await sleep(10_000);
    });
    live = [g];
    await new Promise<void>((r) => setImmediate(r));
    const s = json();
    const held = ['fresh', 'fresh-r', 'fresh-s'].flatMap((n) => s.resources.find((x) => x.name === n)!.holders);
    expect(held.map((h) => h.greenlet)).toEqual([g.id, g.id, g.id, g.id]);
    const up = s.greenlets.find((x) => x.id === g.id)!.upMs!;
    // Held no longer than the greenlet has lived (up to its start's whole-ms rounding),
    // and nowhere near the quiet second before it.
    for (const h of held) {
      expect(h.forMs).toBeLessThanOrEqual(up + 1);
      expect(h.forMs).toBeLessThan(700);
    }
  });

  it('a counting Semaphore lists each holder; a release gives back the releaser\'s permit', async () => {
    const sem = new Semaphore(3, { name: 'api' });
    const gs = [0, 1, 2].map(() => spawn(async () => {
      await sem.acquire();
      await sleep(10_000);
    }));
    live = gs;
    await sleep(5);
    const holders = (): number[] => json().resources.find((x) => x.name === 'api')!.holders.map((h) => h.greenlet);
    expect(holders()).toEqual(gs.map((g) => g.id));
    sem.release(); // by main, which holds none: one permit goes back (the oldest, here)
    expect(holders()).toEqual([gs[1]!.id, gs[2]!.id]);
  });

  it('an RLock lists its owner; a free, unnamed primitive is not listed', async () => {
    const rl = new RLock({ name: 'tree' });
    await rl.acquire();
    const free = new Lock();
    expect(free.locked()).toBe(false);
    const s = json();
    expect(s.resources.find((x) => x.name === 'tree')!.holders).toEqual([{ greenlet: 0, forMs: expect.any(Number), dead: false }]);
    expect(s.resources.filter((x) => x.type === 'Lock' && x.name === null)).toEqual([]);
    rl.release();
    expect(json().resources.find((x) => x.name === 'tree')!.holders).toEqual([]); // named: still listed
  });

  it('queues, channels, events and results are listed through their waiters, with their names', async () => {
    const q = new Queue<number>(0, { name: 'jobs' });
    const ch = new Channel<number>({ name: 'pipe' });
    const ev = new Event({ name: 'ready' });
    const ar = new AsyncResult<number>({ name: 'answer' });
    const pq = new PriorityQueue<number>(0, undefined, { name: 'urgent' });
    live = [spawn(() => q.get()), spawn(() => ch.get()), spawn(() => ev.wait()), spawn(() => ar.get()), spawn(() => pq.get())];
    await sleep(5);
    const s = json();
    const by = (name: string) => s.resources.find((x) => x.name === name)!;
    expect(by('jobs')).toMatchObject({ type: 'Queue', waiters: [{ kind: 'queue.get' }] });
    expect(by('pipe')).toMatchObject({ type: 'Channel', waiters: [{ kind: 'queue.get' }] });
    expect(by('ready')).toMatchObject({ type: 'Event', state: "<Event 'ready' clear, 1 waiting>", waiters: [{ kind: 'event.wait' }] });
    expect(by('answer')).toMatchObject({ type: 'AsyncResult', waiters: [{ kind: 'asyncresult.get' }] });
    expect(by('urgent')).toMatchObject({ type: 'PriorityQueue' });
    expect([q.name, ch.name, ev.name, ar.name, pq.name]).toEqual(['jobs', 'pipe', 'ready', 'answer', 'urgent']);
    expect(new BoundedSemaphore(2).name).toBeUndefined();
  });

  it('an unnamed lock is listed while held once someone waited on it; an uncontended acquire lists nothing', async () => {
    const unnamedLocks = (): Array<[number[], number[]]> =>
      json().resources.filter((x) => x.type === 'Lock' && x.name === null).map((x) => [x.holders.map((h) => h.greenlet), x.waiters.map((w) => w.greenlet)]);
    const quiet = new Lock();
    await quiet.acquire();
    expect(unnamedLocks()).toEqual([]); // nobody waited on it: nothing was paid, nothing listed
    const waiter = spawn(async function waitsForQuiet() {
      await quiet.acquire();
      quiet.release();
    });
    live.push(waiter);
    await sleep(5);
    expect(unnamedLocks()).toEqual([[[0], [waiter.id]]]); // main holds it, the waiter waits
    quiet.release();
    await waiter.join();
    expect(unnamedLocks()).toEqual([]); // free again: not listed
    await quiet.acquire(); // found again through its first wait's target, though uncontended now
    expect(unnamedLocks()).toEqual([[[0], []]]);
    quiet.release();
    // 1,000 locks taken and given back, uncontended: no list grows (locks are never on the pools' list).
    for (let i = 0; i < 1000; i++) {
      const l = new Lock();
      await l.acquire();
      l.release();
    }
    expect(listedCount()).toBe(0);
  });

  it('a Pool lists its members as holders and the greenlets waiting for a slot as waiters; emptied, it is not listed', async () => {
    const pool = new Pool(2);
    const m1 = await pool.spawn(async function member() {
      await sleep(10_000);
    });
    await sleep(5);
    const m2 = await pool.spawn(async function member() {
      await sleep(10_000);
    });
    const spawner = spawn(async function wantsSlot() {
      await pool.spawn(() => sleep(10_000));
    });
    const watcher = spawn(async function watchesSlots() {
      await pool.waitAvailable();
    });
    live = [m1, m2, spawner, watcher];
    await sleep(20);
    const pools = (): PsSnapshot['resources'] => json().resources.filter((x) => x.type === 'Pool');
    const [r] = pools();
    expect(pools()).toHaveLength(1);
    expect(r!.state).toBe('<Pool 2/2, 2 waiting>');
    expect(r!.holders.map((h) => h.greenlet)).toEqual([m1.id, m2.id]);
    expect(r!.holders[0]!.forMs).toBeGreaterThanOrEqual(r!.holders[1]!.forMs);
    expect(r!.waiters.map((w) => [w.greenlet, w.kind])).toEqual([
      [spawner.id, 'pool.spawn'],
      [watcher.id, 'pool.waitAvailable'],
    ]);
    expect(formatRunInfo()).toMatch(new RegExp(`R${r!.id} <Pool 2/2, 2 waiting>\\n {4}held by Greenlet-${m1.id} \\(member\\)`));
    await pool.kill();
    await killAll([spawner, watcher]);
    expect(pools()).toEqual([]);
  });

  it('a bad name or options throw TypeError quoting the value', () => {
    expect(() => new Lock({ name: 3 as unknown as string })).toThrow(TypeError);
    expect(() => new Lock({ name: 3 as unknown as string })).toThrow('Expected `options.name` to be a non-empty string, got `3` (number)');
    expect(() => new Queue(0, 'jobs' as unknown as { name: string })).toThrow(/Expected `options` to be an object, got `'jobs'` \(string\)/);
    expect(() => new Event({ name: '' })).toThrow(TypeError);
    expect(() => formatRunInfo({ json: 'yes' as unknown as boolean })).toThrow(TypeError);
  });

  it('formatRunInfo({ json: true }) is the greenio.ps/3 snapshot, and SIGUSR2 can dump it', async () => {
    const g = spawn(async function napper() {
      await sleep(10_000);
    });
    live = [g];
    await sleep(5);
    const s = json();
    expect(s.schema).toBe('greenio.ps/3');
    expect(s.greenlets.find((x) => x.id === g.id)).toMatchObject({ fn: 'napper', parent: 0, state: 'waiting', waits: [{ kind: 'sleep', text: 'sleep 10000ms', resource: null, depth: 0 }], times: null });
    const out: string[] = [];
    const disable = enableRunInfoSignal('SIGUSR2', { write: (t: string) => out.push(t) }, { json: true });
    process.kill(process.pid, 'SIGUSR2');
    for (let i = 0; i < 50 && out.length === 0; i++) await sleep(10);
    disable();
    expect((JSON.parse(out.join('')) as PsSnapshot).greenlets.some((x) => x.id === g.id)).toBe(true);
  });
});
