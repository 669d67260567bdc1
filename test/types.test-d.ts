// Type tests of the public surface (run by vitest's typecheck mode).
import { describe, expectTypeOf, it } from 'vitest';
import {
  AsyncResult,
  Event,
  Greenlet,
  Group,
  Pool,
  PriorityQueue,
  Queue,
  Semaphore,
  Timeout,
  TimeoutError,
  getCurrent,
  joinAll,
  outside,
  spawn,
  withTimeout,
  config,
  type Config,
  type PriorityCompare,
  type SyncIOMode,
  type Waitable,
} from '../src/index.js';
import { getOriginal, kind, patchAll, trackHandle, type AnyFunction, type OriginalFunction, type WrapperMaker, callbackWrapper, wrapMethod, type Implements, type Kind, type ModulePatch, type PatchReport } from '../src/monkey.js';

describe('public types', () => {
  it('spawn infers the value type from the function and checks the arguments', () => {
    const g = spawn(async (n: number, s: string) => `${n}${s}`, 1, 'x');
    expectTypeOf(g).toEqualTypeOf<Greenlet<string>>();
    expectTypeOf(g.get()).toEqualTypeOf<Promise<string>>();
    expectTypeOf(g.join()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(g.value).toEqualTypeOf<string | undefined>();
    // @ts-expect-error: the arguments must match fn's parameters
    spawn((n: number) => n, 'not a number');
  });

  it('a Greenlet is not a thenable, so await gives the greenlet itself', () => {
    expectTypeOf<Greenlet<number>>().not.toHaveProperty('then');
    const g = spawn(() => 1);
    const viaPromise = Promise.resolve(g);
    expectTypeOf(viaPromise).toEqualTypeOf<Promise<Greenlet<number>>>();
  });

  it('joinAll keeps the greenlet type; getCurrent is a Greenlet', () => {
    expectTypeOf(joinAll([spawn(() => 'a')])).toEqualTypeOf<Promise<Greenlet<string>[]>>();
    expectTypeOf(getCurrent()).toEqualTypeOf<Greenlet>();
  });

  it('outside returns what fn returns and checks the arguments', () => {
    expectTypeOf(outside((n: number, s: string) => `${n}${s}`, 1, 'x')).toEqualTypeOf<string>();
    expectTypeOf(outside(async () => 5)).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error: the arguments must match fn's parameters
    outside((n: number) => n, 'not a number');
  });

  it('withTimeout: the value type, or the union with timeoutValue', () => {
    expectTypeOf(withTimeout(10, async () => 5)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(withTimeout(10, async () => 5, { timeoutValue: null })).toEqualTypeOf<Promise<number | null>>();
    expectTypeOf(new TimeoutError().timeout).toEqualTypeOf<Timeout | undefined>();
    expectTypeOf(new Timeout(10).matches).toEqualTypeOf<(error: unknown) => boolean>();
  });

  it('queues are typed by their items', () => {
    const q = new Queue<{ id: number }>();
    expectTypeOf(q.get()).toEqualTypeOf<Promise<{ id: number }>>();
    expectTypeOf(q.put).parameter(0).toEqualTypeOf<{ id: number }>();
    expectTypeOf(new PriorityQueue<[number, string]>().getNowait()).toEqualTypeOf<[number, string]>();
  });

  it('Pool.spawn waits for a slot (a promise); Group.spawn does not', () => {
    expectTypeOf(new Pool(2).spawn(() => 1)).toEqualTypeOf<Promise<Greenlet<number>>>();
    expectTypeOf(new Group().spawn(() => 1)).toEqualTypeOf<Greenlet<number>>();
    expectTypeOf(new Pool(2).map((x: number) => x * 2, [1, 2])).toEqualTypeOf<Promise<number[]>>();
  });

  it('events, results and semaphores', () => {
    expectTypeOf(new Event().wait()).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(new AsyncResult<number>().get()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(new AsyncResult<number>().wait()).toEqualTypeOf<Promise<number | undefined>>();
    expectTypeOf(new Semaphore(2).acquire()).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(new Semaphore().with(async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf<Event>().toMatchTypeOf<Waitable>();
  });

  it('patchAll returns a report', () => {
    expectTypeOf(patchAll).returns.toEqualTypeOf<PatchReport>();
    // @ts-expect-error: unknown option
    patchAll({ nope: true });
  });

  it('the types public signatures use have public names', () => {
    expectTypeOf(config).toEqualTypeOf<Config>();
    expectTypeOf(config.syncIO).toEqualTypeOf<SyncIOMode>();
    expectTypeOf<ConstructorParameters<typeof PriorityQueue<string>>[1]>().toEqualTypeOf<PriorityCompare<string> | undefined>();
    expectTypeOf(kind).returns.toEqualTypeOf<Kind>();
    expectTypeOf(getOriginal).returns.toEqualTypeOf<AnyFunction>();
    expectTypeOf(getOriginal).returns.toEqualTypeOf<OriginalFunction>();
    expectTypeOf(getOriginal('fs', 'stat')).returns.toBeUnknown();
    expectTypeOf(callbackWrapper).returns.toEqualTypeOf<WrapperMaker>();
    expectTypeOf(wrapMethod).parameter(3).toEqualTypeOf<WrapperMaker>();
    expectTypeOf<ModulePatch['implements']>().toEqualTypeOf<Implements | undefined>();
    expectTypeOf(trackHandle).returns.toEqualTypeOf<void>();
  });
});
