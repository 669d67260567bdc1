// In-process A/B for the TracingChannels (run by hand, not a workload): rounds of a
// queue ping-pong (pure hub ops, the worst case) and of fs.stat, alternating nobody
// listening / a subscriber on every TracingChannel event / greenio/otel spans; medians.
// Run: node --expose-gc --import tsx bench/_tracing-ab.ts
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { joinAll, Queue, spawn } from '../src/index.js';
import { patchAll } from '../src/monkey.js';
import { tracingChannels } from '../src/instrument/tracing.js';
import { registerGreenioInstrumentation } from '../src/otel/index.js';
import { gc, median } from './lib.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const PINGS = Number(process.env.PINGS ?? 20_000);
const STATS = Number(process.env.STATS ?? 10_000);
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
async function stats(): Promise<void> {
  const each = STATS / 64;
  await joinAll(Array.from({ length: 64 }, () => spawn(async () => {
    for (let i = 0; i < each; i++) await stat(FILE);
  })));
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
for (const [work, fn] of [['pingpong', pingpong], ['stat', stats]] as const) {
  const times: Record<string, number[]> = { off: [], tracing: [], otel: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [mode, on] of Object.entries(modes)) {
      const off = on();
      gc();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      off();
      if (r >= 2) times[mode]!.push(ms);
    }
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(JSON.stringify({ work, median_ms: m, tracing_over_off: m.off! / m.tracing!, otel_over_off: m.off! / m.otel! }));
}
