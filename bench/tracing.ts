// The cost of observing: patched IO with nobody listening, against the same with a
// subscriber on every diagnostics channel, with a trace recording (startTrace), and
// with the blocking monitor on, with a subscriber on every event of the TracingChannels
// (tracing:greenio.greenlet|wait|client), and with greenio/otel making spans (an SDK
// tracer provider with no exporter). Workloads: fs.stat x 100,000 at concurrency 64
// (callback and promise APIs), and a loopback TCP echo (100 connections x 1,000 round
// trips of 64 bytes, client greenlets and server in one process). Target: traced,
// subscribed and tracing-channel subscribed at least 0.85x patched-untraced.
import { stat as statCb } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { joinAll, spawn } from '../src/index.js';
import { patchAll } from '../src/monkey.js';
import { channelNames, subscribe } from '../src/instrument/channels.js';
import { startMonitor } from '../src/instrument/monitor.js';
import { startTrace, stopTrace } from '../src/instrument/trace.js';
import { tracingChannels } from '../src/instrument/tracing.js';
import { registerGreenioInstrumentation } from '../src/otel/index.js';
import { echoClient, startEchoServer } from './_loopback-echo.js';
import { defineWorkload, gc, median, type Metrics, type Ratio } from './lib.js';

const STATS = Number(process.env.STATS ?? 100_000);
const CONCURRENCY = 64;
const CONNS = Number(process.env.CONNS ?? 100);
const TRIPS = Number(process.env.TRIPS ?? 1000);
const FILE = fileURLToPath(import.meta.url);
type Mode = 'patched' | 'subscribed' | 'traced' | 'monitored' | 'tracingch' | 'otel';

let seen = 0;
async function setUp(mode: Mode): Promise<void> {
  patchAll({ warnLate: false });
  if (mode === 'subscribed') for (const name of channelNames) subscribe(name, () => void seen++);
  if (mode === 'monitored') await startMonitor({ maxBlockingTime: 100 });
  if (mode === 'tracingch') {
    const count = (): void => void seen++;
    const all = { start: count, end: count, asyncStart: count, asyncEnd: count, error: count };
    for (const tc of Object.values(tracingChannels)) tc.subscribe(all);
  }
  if (mode === 'otel') {
    const { context, trace } = await import('@opentelemetry/api');
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    registerGreenioInstrumentation();
  }
}

/**
 * Median ms of 5 runs after 2 warm-ups. A traced run records a fresh trace; building
 * its events at stopTrace() is timed apart (`build_ms`), as a program pays it once.
 */
async function measure(mode: Mode, run: () => Promise<void>): Promise<{ ms: number; buildMs: number; traceEvents: number }> {
  const times: number[] = [];
  const builds: number[] = [];
  let traceEvents = 0;
  for (let i = 0; i < 7; i++) {
    if (mode === 'traced') startTrace();
    const t0 = performance.now();
    await run();
    const t1 = performance.now();
    if (mode === 'traced') traceEvents = stopTrace().length;
    if (i >= 2) {
      times.push(t1 - t0);
      builds.push(performance.now() - t1);
    }
    // Every mode starts each run from a collected heap: the last run's trace is garbage
    // a program would make once, at exit, not during its work.
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  return { ms: median(times), buildMs: median(builds), traceEvents };
}

async function statWorkload(mode: Mode, api: 'callback' | 'promise'): Promise<Metrics> {
  await setUp(mode);
  const each = STATS / CONCURRENCY;
  const statOnce = api === 'promise' ? () => stat(FILE) : () => new Promise<void>((res, rej) => statCb(FILE, (e) => (e ? rej(e) : res())));
  const { ms, buildMs, traceEvents } = await measure(mode, async () => {
    await joinAll(Array.from({ length: CONCURRENCY }, () => spawn(async () => {
      for (let i = 0; i < each; i++) await statOnce();
    })));
  });
  return { ms, ops_per_s: STATS / (ms / 1000), trace_events: traceEvents, build_ms: buildMs };
}

async function echoWorkload(mode: Mode): Promise<Metrics> {
  await setUp(mode);
  const { port, server } = await startEchoServer();
  const client = (): Promise<void> => echoClient(port, TRIPS);
  const { ms, buildMs, traceEvents } = await measure(mode, async () => {
    await joinAll(Array.from({ length: CONNS }, () => spawn(client)));
  });
  server.close();
  return { ms, msgs_per_s: (CONNS * TRIPS) / (ms / 1000), trace_events: traceEvents, build_ms: buildMs };
}

const modes: Mode[] = ['patched', 'subscribed', 'traced', 'monitored', 'tracingch', 'otel'];
const variants: Record<string, () => Promise<Metrics>> = {};
const ratios: Ratio[] = [];
for (const [work, metric] of [['stat_cb', 'ops_per_s'], ['stat_promise', 'ops_per_s'], ['echo', 'msgs_per_s']] as const) {
  for (const mode of modes) {
    variants[`${work}_${mode}`] = () => (work === 'echo' ? echoWorkload(mode) : statWorkload(mode, work === 'stat_cb' ? 'callback' : 'promise'));
    if (mode !== 'patched') {
      ratios.push({ label: `${work}: ${mode} / patched`, metric, numerator: `${work}_${mode}`, denominator: `${work}_patched`, ...(mode === 'monitored' || mode === 'otel' ? {} : { target: 0.85 }) });
    }
  }
}

export default defineWorkload({
  name: 'tracing',
  description: `fs.stat x ${STATS} at concurrency ${CONCURRENCY} (callback, promise) and TCP echo ${CONNS} x ${TRIPS} x 64 B: patched, + a subscriber on every channel, + startTrace(), + the blocking monitor, + a subscriber on every TracingChannel event, + greenio/otel spans (no exporter)`,
  variants,
  ratios,
  nodeArgs: ['--expose-gc'],
});
