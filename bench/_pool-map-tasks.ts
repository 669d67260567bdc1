// The tasks bench/pool-map.ts and bench/_pool-map-ab.ts map: greenio's (a `sleep(0)`), a
// plain one (a setImmediate turn), the same in its own AsyncLocalStorage store, and the
// floor of a context-carrying map (its own store, read back after its one wait).
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import { AsyncLocalStorage } from 'node:async_hooks';
import { sleep } from '../src/sleep.js';

export function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

export async function task(x: number): Promise<number> {
  await sleep(0);
  return x;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
export async function plainTask(x: number): Promise<number> {
  await turn();
  return x;
}

const scope = new AsyncLocalStorage<object>();
export const scopedTask = (x: number): Promise<number> => scope.run({}, plainTask, x);
// The least a context-carrying task does: enter its own store, wait the one turn, read the store back.
export const floorTask = (x: number): Promise<number> =>
  scope.run({ x }, async () => {
    await turn();
    return (scope.getStore() as { x: number }).x;
  });
