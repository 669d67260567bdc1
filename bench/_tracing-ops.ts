// One load of the `tracing` workload, N ops, optionally with a subscriber on every
// TracingChannel event: what bench/_tracing-none.mjs counts under callgrind, in this tree
// and in a copy with the TracingChannel publication points taken out.
// Run: node --import tsx bench/_tracing-ops.ts <stat_cb|stat_promise|echo> <n> <off|tracing>
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import { stat as statCb } from 'node:fs';
import { stat } from 'node:fs/promises';
import diagnostics from 'node:diagnostics_channel';
import { joinAll, spawn } from '../src/index.js';
import { patchAll } from '../src/monkey.js';
import { echoClient, startEchoServer } from './_loopback-echo.js';

const [work, nStr, mode] = process.argv.slice(2);
const N = Number(nStr);
const FILE = '/etc/hostname';
patchAll({ warnLate: false });
let seen = 0;
const count = (): void => void seen++;
const all = { start: count, end: count, asyncStart: count, asyncEnd: count, error: count };
if (mode === 'tracing') for (const n of ['greenlet', 'wait', 'client', 'job', 'task']) diagnostics.tracingChannel(`greenio.${n}`).subscribe(all as never);

async function main(): Promise<void> {
  if (work === 'echo') {
    const { port, server } = await startEchoServer();
    const CONNS = 10;
    await joinAll(Array.from({ length: CONNS }, () => spawn(() => echoClient(port, N / CONNS))));
    server.close();
  } else {
    const statOnce = work === 'stat_promise' ? () => stat(FILE) : () => new Promise<void>((res, rej) => statCb(FILE, (e) => (e ? rej(e) : res())));
    await joinAll(Array.from({ length: 64 }, () => spawn(async () => {
      for (let i = 0; i < N / 64; i++) await statOnce();
    })));
  }
}
await main();
console.log(JSON.stringify({ work, n: N, mode, seen }));
