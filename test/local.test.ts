import { describe, expect, it } from 'vitest';
import { Local, getCurrent, joinAll, sleep, spawn } from '../src/index.js';

describe('Local', () => {
  it('holds one value per greenlet; the main greenlet has its own', async () => {
    const local = new Local<string>();
    local.set('main');
    const g = spawn(async () => {
      const before = local.get();
      local.set('child');
      await sleep(1);
      return [before, local.get()];
    });
    expect(await g.get()).toEqual([undefined, 'child']);
    expect(local.get()).toBe('main');
    expect(local.has()).toBe(true);
    expect(local.delete()).toBe(true);
    expect(local.get()).toBeUndefined();
  });

  it('a child starts without its parent’s value', async () => {
    const local = new Local<number>();
    const parent = spawn(async () => {
      local.set(1);
      const child = spawn(() => local.get());
      return child.get();
    });
    expect(await parent.get()).toBeUndefined();
  });

  it('never crosses siblings, whatever the interleaving', async () => {
    const local = new Local<number>();
    const gs = [0, 1, 2, 3, 4].map((n) => spawn(async () => {
      local.set(n);
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        await sleep(i % 2);
        seen.push(local.get()!);
      }
      return seen;
    }));
    await joinAll(gs);
    gs.forEach((g, n) => expect(g.value).toEqual([n, n, n, n, n]));
    expect(getCurrent().name).toBe('main');
  });
});
