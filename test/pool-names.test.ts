// Named pools and groups (issue 19 item 3): `new Pool(capacity, { name })` and
// `new Group(greenlets, { name })`, checked like any argument, shown in their description,
// in run-info's JSON and text (`greenio ps`) and in tracing:greenio.task's context.
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { Group, Pool, formatRunInfo, killAll, sleep, spawn, type Greenlet, type GroupOptions, type PsSnapshot } from '../src/index.js';

let live: Greenlet[] = [];
afterEach(async () => {
  await killAll(live);
  live = [];
});
const json = (): PsSnapshot => JSON.parse(formatRunInfo({ json: true })) as PsSnapshot;

describe('Pool and Group names', () => {
  it('a named Pool says its name and is listed with its members and slot waiters', async () => {
    const pool = new Pool(1, { name: 'fetchers' });
    expect(pool.name).toBe('fetchers');
    expect(String(pool)).toBe("<Pool 'fetchers' 0/1>");
    // Listed while idle: a named primitive always is.
    expect(json().resources.find((r) => r.name === 'fetchers')).toMatchObject({ type: 'Pool', state: "<Pool 'fetchers' 0/1>", holders: [], waiters: [] });
    const member = await pool.spawn(sleep, 10_000);
    const waiter = spawn(async function wantsASlot() {
      await pool.spawn(sleep, 10);
    });
    live = [member, waiter];
    await sleep(20);
    const r = json().resources.find((x) => x.name === 'fetchers')!;
    expect(r.state).toBe("<Pool 'fetchers' 1/1, 1 waiting>");
    expect(r.holders.map((h) => h.greenlet)).toEqual([member.id]);
    expect(r.waiters).toEqual([{ greenlet: waiter.id, kind: 'pool.spawn', forMs: expect.any(Number) }]);
    expect(formatRunInfo()).toContain("<Pool 'fetchers' 1/1, 1 waiting>");
  });

  it('a named Group says its name; unnamed ones keep their old description', async () => {
    const g = spawn(sleep, 10_000);
    live = [g];
    const group = new Group([g], { name: 'crawlers' });
    expect(group.name).toBe('crawlers');
    expect(group.size).toBe(1);
    expect(String(group)).toBe("<Group 'crawlers' 1 member>");
    expect(json().resources.find((r) => r.name === 'crawlers')).toMatchObject({ type: 'Group', holders: [{ greenlet: g.id, forMs: expect.any(Number), dead: false }] });
    expect(new Group(null, { name: 'empty' }).toString()).toBe("<Group 'empty' 0 members>");
    expect(String(new Group())).toBe('<Group 0 members>');
    expect(String(new Pool(3))).toBe('<Pool 0/3>');
    expect(new Pool(3).name).toBeUndefined();
  });

  it('rejects a name that is not a non-empty string, and options that are not an object, quoting them', () => {
    expect(() => new Pool(2, { name: 42 as unknown as string })).toThrow(new TypeError('Expected `options.name` to be a non-empty string, got `42` (number)'));
    expect(() => new Pool(2, { name: '' })).toThrow(TypeError);
    expect(() => new Group(undefined, { name: null as unknown as string })).toThrow(/options\.name.*null/);
    expect(() => new Pool(2, 'fetchers' as unknown as GroupOptions)).toThrow(/`options`.*'fetchers'/);
    // The capacity is still checked first.
    expect(() => new Pool(0, { name: 'x' })).toThrow(RangeError);
  });

  it('types the option', () => {
    expectTypeOf<ConstructorParameters<typeof Pool>>().toEqualTypeOf<[capacity: number, options?: GroupOptions]>();
    expectTypeOf(new Pool(1, { name: 'a' }).name).toEqualTypeOf<string | undefined>();
  });

  it('tracing:greenio.task names the pool of a map task by its name', async () => {
    const pool = new Pool(2, { name: 'resizers' });
    const pools: string[] = [];
    const tc = diagnostics.tracingChannel('greenio.task');
    const sub = { start: (ctx: unknown) => void pools.push((ctx as { pool: string }).pool) };
    tc.subscribe(sub as Parameters<typeof tc.subscribe>[0]);
    try {
      expect(await pool.map(async (x: number) => (await sleep(1), x * 2), [1, 2, 3])).toEqual([2, 4, 6]);
    } finally {
      tc.unsubscribe(sub as Parameters<typeof tc.unsubscribe>[0]);
    }
    expect(pools).toHaveLength(3);
    for (const p of pools) expect(p).toMatch(/^<Pool 'resizers' \d\/2>$/);
  });
});
