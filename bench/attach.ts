// The price of being read by `greenio ps`/`top` (src/instrument/attach.ts): a process with
// 1,000 greenlets parked (sleep, queue, lock) runs 10 greenlets doing `sleep(0)` round
// trips; we measure their rate before any attach, while `greenio ps --json` reads the
// process (the CLI in a child process), after it left, while a `top` client is attached
// (busy/idle/scheduled accounting on: async_hooks), and after that client left; plus how
// long `ps` took end to end (the CLI's start included), the attach alone (signal to
// connected socket), one snapshot's round trip, and the snapshot's size. The attach's client runs in this
// process for the `top` phase (a Unix socket to itself).
import { spawn as spawnChild } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawn } from '../src/greenlet.js';
import { Lock } from '../src/lock.js';
import { Queue } from '../src/queue.js';
import { sleep } from '../src/sleep.js';
import { attach } from '../src/instrument/attach-client.js';
import '../src/instrument/attach.js';
import { defineWorkload, type Metrics } from './lib.js';

const PHASE_MS = Number(process.env.PHASE_MS ?? 1500);
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

async function rate(ms: number): Promise<number> {
  let n = 0;
  let on = true;
  const gs = Array.from({ length: 10 }, () => spawn(async () => {
    while (on) {
      await sleep(0);
      n++;
    }
  }));
  await new Promise((r) => setTimeout(r, ms));
  on = false;
  for (const g of gs) await g.join();
  return n / (ms / 1000);
}

function ps(): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const code = `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(process.argv.slice(1));`;
  const child = spawnChild(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, 'ps', '--json', String(process.pid)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let bytes = 0;
  child.stdout.on('data', (d: Buffer) => (bytes += d.length));
  return new Promise((resolve) => child.once('close', () => resolve({ ms: performance.now() - t0, bytes })));
}

async function run(): Promise<Metrics> {
  const q = new Queue<number>();
  const lock = new Lock({ name: 'held' });
  spawn(async () => {
    await lock.acquire();
    await sleep(3_600_000);
  });
  const parked = [];
  for (let i = 0; i < 400; i++) parked.push(spawn(() => q.get()));
  for (let i = 0; i < 300; i++) parked.push(spawn(() => sleep(3_600_000)));
  for (let i = 0; i < 300; i++) parked.push(spawn(() => lock.acquire()));
  await sleep(50);
  const before = await rate(PHASE_MS);
  const [during, read] = await Promise.all([rate(PHASE_MS), ps()]);
  const after = await rate(PHASE_MS);
  const t0 = performance.now();
  const session = await attach(process.pid);
  const t1 = performance.now();
  await session.request('ps');
  const t2 = performance.now();
  const topOn = session.request('top');
  const [withTop] = await Promise.all([rate(PHASE_MS), topOn]);
  await session.request('top');
  session.close();
  await sleep(100);
  const afterTop = await rate(PHASE_MS);
  return {
    sleep0_per_s_before: before,
    sleep0_per_s_during_ps: during,
    sleep0_per_s_after_ps: after,
    sleep0_per_s_top_attached: withTop,
    sleep0_per_s_after_top: afterTop,
    ps_cli_ms: read.ms,
    attach_ms: t1 - t0,
    snapshot_ms: t2 - t1,
    ps_json_bytes: read.bytes,
    after_over_before: after / before,
    top_attached_over_before: withTop / before,
    after_top_over_before: afterTop / before,
  };
}

export default defineWorkload({
  name: 'attach',
  description: 'sleep(0) round trips of 10 greenlets beside 1,000 parked ones: before, during and after greenlet ps --json, while top is attached and after; ps latency',
  variants: { greenio: () => run().then((m) => { process.nextTick(() => process.exit(0)); return m; }) },
});
