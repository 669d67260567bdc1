import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runWorkers } from '../src/cluster.js';
import { GreenioError } from '../src/errors.js';
import { alive, waitUntil } from './fixtures/pools-util.js';

const WORKER = new URL('./fixtures/pools-cluster-worker.ts', import.meta.url);
const CRASH = new URL('./fixtures/pools-cluster-crash.ts', import.meta.url);
const TSX = ['--import', 'tsx'];

/** Connect and read the pid of the worker that answered. */
async function ask(port: number): Promise<number> {
  const sock = connect(port, '127.0.0.1');
  let out = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (out += d));
  await once(sock, 'close');
  return Number(out);
}

async function pidsAnswering(port: number, want: number[], tries = 200): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < tries && !want.every((p) => seen.has(p)); i++) seen.add(await ask(port));
  return seen;
}

describe('runWorkers', () => {
  it('runs two workers that share one port: both serve, and a killed worker is replaced', async () => {
    const group = runWorkers(2, WORKER, { execArgv: TSX, maxRestarts: 3 });
    try {
      const { port } = await group.listening({ timeout: 30_000 });
      const first = group.pids;
      expect(first.length).toBe(2);
      expect(await pidsAnswering(port, first)).toEqual(new Set(first));

      process.kill(first[0]!, 'SIGKILL');
      await waitUntil(() => group.restarts === 1 && group.pids.length === 2, 30_000);
      await group.listening({ timeout: 30_000 });
      const second = group.pids;
      expect(second).toContain(first[1]);
      expect(second).not.toContain(first[0]);
      expect(await pidsAnswering(port, second)).toEqual(new Set(second));
    } finally {
      await group.stop();
    }
    expect(group.stopped).toBe(true);
    expect(group.pids).toEqual([]);
    await group.wait();
  }, 90_000);

  it('stop() leaves no worker alive', async () => {
    const group = runWorkers(2, WORKER, { execArgv: TSX });
    await group.listening({ timeout: 30_000 });
    const pids = group.pids;
    await group.stop(5000);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);

  it('ends a crash loop: wait() rejects with GREENIO_RESTART_LIMIT', async () => {
    const group = runWorkers(1, CRASH, { execArgv: TSX, maxRestarts: 2, restartWindow: 60_000 });
    const e = await group.wait().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GreenioError);
    expect((e as GreenioError).code).toBe('GREENIO_RESTART_LIMIT');
    expect((e as Error).message).toMatch(/exited with code 7/);
    expect(group.restarts).toBe(2);
    expect(group.stopped).toBe(true);
  }, 60_000);

  it('checks its arguments', () => {
    expect(() => runWorkers(0, WORKER)).toThrow(RangeError);
    expect(() => runWorkers(1, 42 as never)).toThrow(/Expected `script` to be a path or a file URL/);
    expect(() => runWorkers(1, WORKER, { args: 'x' as never })).toThrow(TypeError);
    expect(() => runWorkers(1, WORKER, { maxRestarts: -1 })).toThrow(RangeError);
  });
});
