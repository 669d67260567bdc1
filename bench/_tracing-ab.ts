// In-process A/B for the TracingChannels (run by hand, not a workload): rounds of the
// `tracing` workload's three loads (fs.stat callback and promise at concurrency 64, a
// loopback TCP echo) and of a queue ping-pong (pure hub ops, the worst case), alternating
// nobody listening / a subscriber on every TracingChannel event / greenio/otel spans, all
// in one process so a busy machine slows each alike; medians, ratios as throughput / off's.
// Run: node --expose-gc --import tsx bench/_tracing-ab.ts [work ...]   (ROUNDS=15)
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import { stat as statCb } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { joinAll, Queue, spawn } from '../src/index.js';
import { patchAll } from '../src/monkey.js';
import { tracingChannels } from '../src/instrument/tracing.js';
import { registerGreenioInstrumentation } from '../src/otel/index.js';
import { echoClient, startEchoServer } from './_loopback-echo.js';
import { gc, median } from './lib.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const PINGS = Number(process.env.PINGS ?? 20_000);
const STATS = Number(process.env.STATS ?? 12_800);
const CONNS = Number(process.env.CONNS ?? 50);
const TRIPS = Number(process.env.TRIPS ?? 200);
const FILE = fileURLToPath(import.meta.url);
patchAll({ warnLate: false });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider());

async function pingpong(): Promise<void> {
  const a = new Queue<number>();
  const b = new Queue<number>();
  const echo = spawn(async () => {
    for (let i = 0; i < PINGS; i++) b.put(await a.get());
  });
  for (let i = 0; i < PINGS; i++) {
    a.put(i);
    await b.get();
  }
  await echo.join();
}
const statOnceCb = (): Promise<void> => new Promise<void>((res, rej) => statCb(FILE, (e) => (e ? rej(e) : res())));
const statsOf = (statOnce: () => Promise<unknown>) => async (): Promise<void> => {
  const each = STATS / 64;
  await joinAll(Array.from({ length: 64 }, () => spawn(async () => {
    for (let i = 0; i < each; i++) await statOnce();
  })));
};

const { port, server } = await startEchoServer();
async function echo(): Promise<void> {
  await joinAll(Array.from({ length: CONNS }, () => spawn(() => echoClient(port, TRIPS))));
}

let seen = 0;
const count = (): void => void seen++;
const all = { start: count, end: count, asyncStart: count, asyncEnd: count, error: count };
const modes: Record<string, () => () => void> = {
  off: () => () => {},
  tracing: () => {
    for (const tc of Object.values(tracingChannels)) tc.subscribe(all);
    return () => { for (const tc of Object.values(tracingChannels)) tc.unsubscribe(all); };
  },
  otel: () => registerGreenioInstrumentation(),
};
const works = { stat_cb: statsOf(statOnceCb), stat_promise: statsOf(() => stat(FILE)), echo, pingpong } as const;
const only = process.argv.slice(2);
for (const [work, fn] of Object.entries(works)) {
  if (only.length > 0 && !only.includes(work)) continue;
  const times: Record<string, number[]> = { off: [], tracing: [], otel: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // Each round starts with a different mode, so none always runs after a collection's debt.
    const order = Object.entries(modes);
    for (let i = 0; i < r % order.length; i++) order.push(order.shift()!);
    for (const [mode, on] of order) {
      const off = on();
      gc();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      off();
      if (r >= 2) times[mode]!.push(ms);
    }
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(median(v) * 100) / 100]));
  const ratio = (x: number): number => Math.round((m.off! / x) * 1000) / 1000;
  console.log(JSON.stringify({ node: process.versions.node, work, rounds: ROUNDS, median_ms: m, tracing_over_off: ratio(m.tracing!), otel_over_off: ratio(m.otel!) }));
}
server.close();
