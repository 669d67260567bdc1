// Nothing lost under interruption: random interleavings of producers and consumers on
// each queue kind, with random kills and timeouts (own and outer) of waiting getters and
// putters. Every item put is got exactly once or is still in the queue, in the kind's
// order, a failed put's item is never seen, and no waiter stays registered.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { JoinableQueue, LifoQueue, PriorityQueue } from '../src/queue-family.js';
import { Channel } from '../src/channel.js';
import type { Store } from '../src/internal/deque.js';
import {
  GreenletExit,
  QueueEmpty,
  QueueFull,
  TimeoutError,
  killAll,
  sleep,
  spawn,
  withTimeout,
  type Greenlet,
} from '../src/index.js';

type Mode = { m: 'block' } | { m: 'nowait' } | { m: 'timeout'; ms: number } | { m: 'outer'; ms: number };
// `settle`: let the spawned greenlet start (and reach its wait) before the next command.
type Cmd =
  | { t: 'put'; mode: Mode; prio: number; settle: boolean }
  | { t: 'get'; mode: Mode; settle: boolean }
  | { t: 'peek'; mode: Mode; settle: boolean }
  | { t: 'putNowait'; prio: number }
  | { t: 'getNowait' }
  | { t: 'kill'; which: number; block: boolean }
  | { t: 'yield'; ms: number };

type Item = number | [number, number]; // an id, or [priority, id] for a PriorityQueue
type AnyQueue = Queue<Item> | Channel<Item>;
type Order = 'fifo' | 'lifo' | 'priority';

const mode: fc.Arbitrary<Mode> = fc.oneof(
  fc.constant<Mode>({ m: 'block' }),
  fc.constant<Mode>({ m: 'nowait' }),
  fc.integer({ min: 0, max: 2 }).map<Mode>((ms) => ({ m: 'timeout', ms })),
  fc.integer({ min: 0, max: 2 }).map<Mode>((ms) => ({ m: 'outer', ms })),
);
const prio = fc.integer({ min: 0, max: 3 }); // few priorities: many ties
const settle = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const cmd = (withPeek: boolean): fc.Arbitrary<Cmd> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant('put' as const), mode, prio, settle }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('get' as const), mode, settle }) },
    { weight: withPeek ? 1 : 0, arbitrary: fc.record({ t: fc.constant('peek' as const), mode, settle }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('putNowait' as const), prio }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('getNowait' as const) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('kill' as const), which: fc.nat(), block: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('yield' as const), ms: fc.integer({ min: 0, max: 1 }) }) },
  );

const idOf = (item: Item): number => (typeof item === 'number' ? item : item[1]);

/**
 * The store, checked against a reference model at every take. Items also enter it in the
 * order their puts were called (ids ascending): blocked putters are let in first come,
 * first served, whatever the order of taking.
 */
function modelled(store: Store<Item>, order: Order, wrong: string[]): Store<Item> {
  const model: Item[] = [];
  let lastId = -1;
  const next = (): number => {
    if (order === 'lifo') return model.length - 1;
    let best = 0; // smallest priority, first put among equals
    for (let i = 1; i < model.length; i++) if ((model[i] as [number, number])[0] < (model[best] as [number, number])[0]) best = i;
    return best;
  };
  return {
    get length() {
      return store.length;
    },
    push(x) {
      store.push(x);
      model.push(x);
      if (idOf(x) < lastId) wrong.push(`${idOf(x)} entered after ${lastId}`);
      lastId = idOf(x);
    },
    take() {
      const x = store.take();
      const [want] = model.splice(next(), 1);
      if (x !== want) wrong.push(`took ${JSON.stringify(x)}, expected ${JSON.stringify(want)}`);
      return x;
    },
    top() {
      const x = store.top();
      if (x !== model[next()]) wrong.push(`top ${JSON.stringify(x)}, expected ${JSON.stringify(model[next()])}`);
      return x;
    },
    clear() {
      store.clear();
      model.length = 0;
    },
  };
}

function expectedError(e: unknown, md: Mode): boolean {
  if (e instanceof GreenletExit) return true;
  if (md.m === 'nowait' || md.m === 'timeout') return e instanceof QueueEmpty || e instanceof QueueFull;
  if (md.m === 'outer') return e instanceof TimeoutError;
  return false;
}

function call<R>(md: Mode, fn: (opts: { block?: boolean; timeout?: number } | undefined) => Promise<R>): Promise<R> {
  if (md.m === 'block') return fn(undefined);
  if (md.m === 'nowait') return fn({ block: false });
  if (md.m === 'timeout') return fn({ timeout: md.ms });
  return withTimeout(md.ms, () => fn(undefined));
}

async function run(q: AnyQueue, order: Order, cmds: Cmd[]): Promise<void> {
  const wrong: string[] = [];
  const unexpected: unknown[] = [];
  if (q instanceof Queue && order !== 'fifo') q._store = modelled(q._store, order, wrong);
  const joinable = q instanceof JoinableQueue;
  let nextId = 0;
  let clock = 0; // get calls, in call order
  const okPuts: number[] = [];
  const failedPuts = new Set<number>();
  const gets: { at: number; id: number }[] = [];
  const peeked: number[] = [];
  const actors: Greenlet[] = [];
  const itemFor = (p: number): Item => (order === 'priority' ? [p, nextId++] : nextId++);

  const got = (at: number, item: Item): void => {
    gets.push({ at, id: idOf(item) });
    if (joinable) q.taskDone();
  };

  for (const c of cmds) {
    switch (c.t) {
      case 'put':
        actors.push(spawn(async () => {
          const item = itemFor(c.prio);
          try {
            await call(c.mode, (o) => q.put(item, o));
            okPuts.push(idOf(item));
          } catch (e) {
            failedPuts.add(idOf(item));
            if (!expectedError(e, c.mode)) unexpected.push(e);
          }
        }));
        break;
      case 'get':
        actors.push(spawn(async () => {
          const at = clock++;
          try {
            got(at, await call(c.mode, (o) => q.get(o)));
          } catch (e) {
            if (!expectedError(e, c.mode)) unexpected.push(e);
          }
        }));
        break;
      case 'peek':
        actors.push(spawn(async () => {
          try {
            peeked.push(idOf(await call(c.mode, (o) => (q as Queue<Item>).peek(o))));
          } catch (e) {
            if (!expectedError(e, c.mode)) unexpected.push(e);
          }
        }));
        break;
      case 'putNowait': {
        const item = itemFor(c.prio);
        try {
          q.putNowait(item);
          okPuts.push(idOf(item));
        } catch (e) {
          failedPuts.add(idOf(item));
          if (!(e instanceof QueueFull)) unexpected.push(e);
        }
        break;
      }
      case 'getNowait': {
        const at = clock++;
        try {
          got(at, q.getNowait());
        } catch (e) {
          if (!(e instanceof QueueEmpty)) unexpected.push(e);
        }
        break;
      }
      case 'kill': {
        const live = actors.filter((g) => !g.dead);
        if (live.length === 0) break;
        const g = live[c.which % live.length]!;
        if (c.block) await g.kill();
        else void g.kill(undefined, { block: false });
        break;
      }
      case 'yield':
        await sleep(c.ms);
        break;
    }
    // A spawned greenlet starts on the next microtask and runs until its wait.
    if ('settle' in c && c.settle) await null;
  }
  await killAll(actors);

  expect(unexpected).toEqual([]);
  expect(q._waiterCount).toBe(0);
  const left: number[] = [];
  while (q.qsize() > 0) {
    const at = clock++;
    const item = q.getNowait();
    left.push(idOf(item));
    got(at, item);
  }
  expect(wrong).toEqual([]);
  okPuts.sort((a, b) => a - b);
  const received = gets.map((g) => g.id);
  // Exactly once: what was got (including what was left) is what was put, no more, no less.
  expect([...received].sort((a, b) => a - b)).toEqual(okPuts);
  for (const id of [...received, ...peeked]) expect(failedPuts.has(id)).toBe(false);
  if (order === 'fifo') {
    // Successful gets, in the order they were called, receive the successful puts in
    // the order they were called (waiters on both sides are served first come, first served).
    expect(gets.sort((a, b) => a.at - b.at).map((g) => g.id)).toEqual(okPuts);
  }
  if (joinable) {
    expect(q.unfinishedTasks).toBe(0);
    expect(await q.join({ timeout: 0 })).toBe(true);
  }
}

const program = (withPeek: boolean) => fc.array(cmd(withPeek), { minLength: 4, maxLength: 40, size: 'max' });
const RUNS = 100;

describe('no item is lost or duplicated under kills and timeouts', () => {
  // Factories, so that a run (or a re-run while shrinking) always gets a fresh queue.
  const kinds: Array<[string, fc.Arbitrary<() => AnyQueue>, Order]> = [
    ['Queue (unbounded)', fc.constant(() => new Queue<Item>()), 'fifo'],
    ['Queue (bounded)', fc.integer({ min: 1, max: 3 }).map((n) => () => new Queue<Item>(n)), 'fifo'],
    ['JoinableQueue', fc.integer({ min: 0, max: 3 }).map((n) => () => new JoinableQueue<Item>(n)), 'fifo'],
    ['LifoQueue', fc.integer({ min: 0, max: 3 }).map((n) => () => new LifoQueue<Item>(n)), 'lifo'],
    // Python ordering of [priority, id] tuples, or a compare on the priority alone (ties
    // then rely on the heap's stability).
    ['PriorityQueue', fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([n, byPrio]) => () =>
      new PriorityQueue<Item>(n, byPrio ? (a, b) => (a as [number, number])[0] - (b as [number, number])[0] : undefined)), 'priority'],
    ['Channel', fc.constant(() => new Channel<Item>()), 'fifo'],
  ];
  for (const [name, queue, order] of kinds) {
    it(`${name}: every item put is got exactly once or still queued, in order, and no waiter is left`, async () => {
      await fc.assert(
        fc.asyncProperty(queue, program(name !== 'Channel'), (make, cmds) => run(make(), order, cmds)),
        { numRuns: RUNS },
      );
    });
  }
});
