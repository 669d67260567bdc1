// Overhead of the fs patch: 100,000 fs.stat (callback and promise) at concurrency 64,
// unpatched, patched (calls made in the main greenlet), and patched with each worker
// its own greenlet; beside @opentelemetry/instrumentation-fs (no-op exporter) as the
// peer anchor. Target: patched >= 0.95x unpatched. The `floor` variants run each worker in
// its own context under a bare wrapper (bench/_floor.ts): what any patch that records the
// calling greenlet pays, printed under each goal; `cb_floor_work` is that floor plus 300 ns of
// busy JavaScript per call (not a floor: see bench/PROFILE.md, FS18).
import { createRequire } from 'node:module';
import { busyFirst, floorRun, installFloor } from './_floor.js';
import { defineWorkload, timeIt } from './lib.js';

const N = Number(process.env.N ?? 100_000);
const C = 64;
const require = createRequire(import.meta.url);

type Fs = typeof import('node:fs');
async function cbWorkers(fs: Fs, wrap: (fn: () => Promise<void>) => Promise<void>): Promise<number> {
  const per = Math.ceil(N / C);
  const worker = () => new Promise<void>((resolve, reject) => {
    let left = per;
    const next = (err?: Error | null) => {
      if (err) return reject(err);
      if (left-- === 0) return resolve();
      fs.stat(__filename, next);
    };
    next();
  });
  return timeIt(() => Promise.all(Array.from({ length: C }, () => wrap(worker))), 5, 1);
}
async function promiseWorkers(fs: Fs, wrap: (fn: () => Promise<void>) => Promise<void>): Promise<number> {
  const per = Math.ceil(N / C);
  const worker = async () => {
    for (let i = 0; i < per; i++) await fs.promises.stat(__filename);
  };
  return timeIt(() => Promise.all(Array.from({ length: C }, () => wrap(worker))), 5, 1);
}
const __filename = new URL(import.meta.url).pathname;
const direct = (fn: () => Promise<void>) => fn();

async function patched(style: 'cb' | 'p', inGreenlets: boolean) {
  const { patchAll } = await import('../src/monkey.js');
  const { spawn } = await import('../src/index.js');
  patchAll({ warnLate: false });
  const wrap = inGreenlets ? (fn: () => Promise<void>) => spawn(fn).get() : direct;
  const fs = require('node:fs') as Fs;
  const ms = style === 'cb' ? await cbWorkers(fs, wrap) : await promiseWorkers(fs, wrap);
  return { per_s: N / (ms / 1000) };
}

async function floor(style: 'cb' | 'p', workNs = 0) {
  if (workNs > 0) (require('node:fs') as Fs).stat = busyFirst((require('node:fs') as Fs).stat, workNs);
  await installFloor();
  const fs = require('node:fs') as Fs;
  const ms = style === 'cb' ? await cbWorkers(fs, floorRun) : await promiseWorkers(fs, floorRun);
  return { per_s: N / (ms / 1000) };
}

async function otel(style: 'cb' | 'p') {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { FsInstrumentation } = await import('@opentelemetry/instrumentation-fs');
  const api = await import('@opentelemetry/api');
  const exporter = { export: (_s: unknown, done: (r: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} };
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter as never)] });
  provider.register();
  const inst = new FsInstrumentation();
  inst.setTracerProvider(provider);
  inst.enable();
  const fs = require('node:fs') as Fs;
  const tracer = api.trace.getTracer('bench');
  // Spans are made for calls under an active span (the instrumentation's default).
  const ms = await tracer.startActiveSpan('workload', async (span) => {
    const r = style === 'cb' ? await cbWorkers(fs, direct) : await promiseWorkers(fs, direct);
    span.end();
    return r;
  });
  return { per_s: N / (ms / 1000) };
}

export default defineWorkload({
  name: 'patch_fs',
  description: `${N} fs.stat at concurrency ${C}: patched vs unpatched (ops/s)`,
  variants: {
    cb_unpatched: async () => ({ per_s: N / ((await cbWorkers(require('node:fs') as Fs, direct)) / 1000) }),
    cb_patched: () => patched('cb', false),
    cb_patched_greenlets: () => patched('cb', true),
    cb_floor: () => floor('cb'),
    cb_floor_work: () => floor('cb', 300),
    cb_otel: () => otel('cb'),
    promise_unpatched: async () => ({ per_s: N / ((await promiseWorkers(require('node:fs') as Fs, direct)) / 1000) }),
    promise_patched: () => patched('p', false),
    promise_patched_greenlets: () => patched('p', true),
    promise_floor: () => floor('p'),
    promise_otel: () => otel('p'),
  },
  ratios: [
    { label: 'callback: patched / unpatched', metric: 'per_s', numerator: 'cb_patched', denominator: 'cb_unpatched', target: 0.95, target20: 0.85, goal: 'fs.stat, callback, patched / unpatched' },
    { label: 'callback: patched, 64 greenlets / unpatched', metric: 'per_s', numerator: 'cb_patched_greenlets', denominator: 'cb_unpatched', target: 0.95, target20: 0.85, goal: 'fs.stat, callback, in 64 greenlets / unpatched' },
    { label: 'callback: floor wrapper / unpatched', metric: 'per_s', numerator: 'cb_floor', denominator: 'cb_unpatched', target: 0.95, target20: 0.85, floorFor: 'fs.stat, callback, patched / unpatched' },
    { label: 'callback: floor wrapper / unpatched', metric: 'per_s', numerator: 'cb_floor', denominator: 'cb_unpatched', target: 0.95, target20: 0.85, floorFor: 'fs.stat, callback, in 64 greenlets / unpatched' },
    // Not a floor: the floor plus 300 ns of plain JavaScript per call (greenio's own code is
    // about that). It lands near the patched row: Node's submission of the stat to libuv
    // costs more as the main thread does more per call (bench/PROFILE.md, FS18).
    { label: 'callback: floor + 300 ns of JS per call / unpatched', metric: 'per_s', numerator: 'cb_floor_work', denominator: 'cb_unpatched' },
    { label: 'callback: OpenTelemetry fs / unpatched', metric: 'per_s', numerator: 'cb_otel', denominator: 'cb_unpatched' },
    { label: 'promise: patched / unpatched', metric: 'per_s', numerator: 'promise_patched', denominator: 'promise_unpatched', target: 0.95, target20: 0.85, goal: 'fs.stat, promise, patched / unpatched' },
    { label: 'promise: patched, 64 greenlets / unpatched', metric: 'per_s', numerator: 'promise_patched_greenlets', denominator: 'promise_unpatched', target: 0.95, target20: 0.85, goal: 'fs.stat, promise, in 64 greenlets / unpatched' },
    { label: 'promise: floor wrapper / unpatched', metric: 'per_s', numerator: 'promise_floor', denominator: 'promise_unpatched', target: 0.95, target20: 0.85, floorFor: 'fs.stat, promise, patched / unpatched' },
    { label: 'promise: floor wrapper / unpatched', metric: 'per_s', numerator: 'promise_floor', denominator: 'promise_unpatched', target: 0.95, target20: 0.85, floorFor: 'fs.stat, promise, in 64 greenlets / unpatched' },
    { label: 'promise: OpenTelemetry fs / unpatched', metric: 'per_s', numerator: 'promise_otel', denominator: 'promise_unpatched' },
  ],
});
