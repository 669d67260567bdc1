// queue_pingpong (mirrors ../shared/bench/gevent/queue_pingpong.py): one producer greenlet
// puts M items, one consumer greenlet gets them, through Queue(1), Queue(100), an unbounded
// Queue() and a Channel; plus M/5 ping→pong round trips over two Queue(1). Items (or round
// trips) per second. Baseline in the same run: a minimal hand-written promise hand-off
// queue and channel in raw Node, with plain async functions for producer and consumer;
// `raw_scoped` runs the same with each side in its own AsyncLocalStorage.run (the floor of
// a task that carries its own context, as greenlets do).
import { AsyncLocalStorage } from 'node:async_hooks';
import { joinAll, spawn } from '../src/index.js';
import { Queue } from '../src/queue.js';
import { Channel } from '../src/channel.js';
import { defineWorkload, timeIt, type Ratio } from './lib.js';
import { RawChannel, RawQueue } from './_prim-works.mjs';

const M = Number(process.env.M ?? 1_000_000);
const RT = Math.floor(M / 5);

interface Pipe {
  put(item: number | null): Promise<void>;
  get(): Promise<number | null>;
}

async function greenOneWay(q: Pipe): Promise<void> {
  const producer = spawn(async () => {
    for (let i = 0; i < M; i++) await q.put(i);
    await q.put(null);
  });
  const consumer = spawn(async () => {
    let n = 0;
    while ((await q.get()) !== null) n++;
    return n;
  });
  await joinAll([producer, consumer], { raiseError: true });
  if (consumer.value !== M) throw new Error(`consumer got ${consumer.value} items, expected ${M}`);
}

async function greenRoundTrip(a: Pipe, b: Pipe): Promise<void> {
  const pinger = spawn(async () => {
    for (let i = 0; i < RT; i++) {
      await a.put(i);
      if ((await b.get()) !== i) throw new Error('out of order');
    }
    await a.put(null);
  });
  const ponger = spawn(async () => {
    for (;;) {
      const x = await a.get();
      if (x === null) return;
      await b.put(x);
    }
  });
  await joinAll([pinger, ponger], { raiseError: true });
}

// ---- The raw baseline (bench/_prim-works.mjs, shared with the in-process harnesses): a careful
// hand-written promise queue and channel, nothing more.

// Set by the raw_scoped variant: each side then runs inside its own context.
let scope: AsyncLocalStorage<object> | null = null;
function scoped<R>(fn: () => Promise<R>): Promise<R> {
  return scope === null ? fn() : scope.run({}, fn);
}

async function rawOneWay(q: Pipe): Promise<void> {
  const producer = async () => {
    for (let i = 0; i < M; i++) await q.put(i);
    await q.put(null);
  };
  const consumer = async () => {
    let n = 0;
    while ((await q.get()) !== null) n++;
    return n;
  };
  const [, n] = await Promise.all([scoped(producer), scoped(consumer)]);
  if (n !== M) throw new Error(`consumer got ${n} items, expected ${M}`);
}

async function rawRoundTrip(a: Pipe, b: Pipe): Promise<void> {
  const pinger = async () => {
    for (let i = 0; i < RT; i++) {
      await a.put(i);
      if ((await b.get()) !== i) throw new Error('out of order');
    }
    await a.put(null);
  };
  const ponger = async () => {
    for (;;) {
      const x = await a.get();
      if (x === null) return;
      await b.put(x);
    }
  };
  await Promise.all([scoped(pinger), scoped(ponger)]);
}

// ---- Shapes, measured the same way for both variants.

interface Impl {
  queue(max: number): Pipe;
  channel(): Pipe;
  oneWay(q: Pipe): Promise<void>;
  roundTrip(a: Pipe, b: Pipe): Promise<void>;
}

async function measure(impl: Impl): Promise<Record<string, number>> {
  // Few runs: each moves a million items (the harness already runs several processes).
  const rate = async (n: number, fn: () => Promise<void>) => n / ((await timeIt(fn, 3, 1)) / 1000);
  const shapes: Record<string, () => Promise<number>> = {
    queue_max1_items_per_s: () => rate(M, () => impl.oneWay(impl.queue(1))),
    queue_max100_items_per_s: () => rate(M, () => impl.oneWay(impl.queue(100))),
    queue_unbounded_items_per_s: () => rate(M, () => impl.oneWay(impl.queue(0))),
    channel_items_per_s: () => rate(M, () => impl.oneWay(impl.channel())),
    roundtrip_queue1_rt_per_s: () => rate(RT, () => impl.roundTrip(impl.queue(1), impl.queue(1))),
  };
  // SHAPES=channel,roundtrip measures only those (the CI guard and profiles use it).
  const only = process.env.SHAPES?.split(',');
  const out: Record<string, number> = {};
  for (const [k, fn] of Object.entries(shapes)) if (!only || only.some((o) => k.startsWith(o))) out[k] = await fn();
  return out;
}

const metrics = [
  ['queue_max1_items_per_s', 'Queue(1)'],
  ['queue_max100_items_per_s', 'Queue(100)'],
  ['queue_unbounded_items_per_s', 'Queue()'],
  ['channel_items_per_s', 'Channel'],
  ['roundtrip_queue1_rt_per_s', 'round trips'],
] as const;
// Issue 18's rows among these ratios.
const goals: Partial<Record<string, Partial<Ratio>>> = {
  channel_items_per_s: { target: 0.8, goal: '`Channel` hand-off / a raw promise channel' },
  roundtrip_queue1_rt_per_s: { target: 0.8, goal: 'round trips over two `Queue(1)` / raw' },
};

export default defineWorkload({
  name: 'queue_pingpong',
  description: `${M} items producer→consumer through Queue(1), Queue(100), Queue(), Channel; ${RT} round trips over two Queue(1); per second`,
  variants: {
    greenio: () =>
      measure({
        queue: (max) => new Queue<number | null>(max),
        channel: () => new Channel<number | null>(),
        oneWay: greenOneWay,
        roundTrip: greenRoundTrip,
      }),
    raw: () =>
      measure({
        queue: (max) => new RawQueue<number | null>(max),
        channel: () => new RawChannel<number | null>(),
        oneWay: rawOneWay,
        roundTrip: rawRoundTrip,
      }),
    raw_scoped: () => {
      scope = new AsyncLocalStorage<object>();
      return measure({
        queue: (max) => new RawQueue<number | null>(max),
        channel: () => new RawChannel<number | null>(),
        oneWay: rawOneWay,
        roundTrip: rawRoundTrip,
      });
    },
  },
  gevent: { script: 'queue_pingpong.py', variants: { gevent: Object.fromEntries(metrics.map(([m]) => [m, m])) } },
  ratios: metrics.flatMap(([metric, label]): Ratio[] => [
    { label: `${label}: greenio / Python gevent`, metric, numerator: 'greenio', denominator: 'gevent', target: 10 },
    { label: `${label}: greenio / raw promise queue`, metric, numerator: 'greenio', denominator: 'raw', ...goals[metric] },
    { label: `${label}: greenio / raw promise queue, each side in its own AsyncLocalStorage.run (the floor)`, metric, numerator: 'greenio', denominator: 'raw_scoped' },
    // The floor's own figure against the goal's target: what a context per side leaves of it.
    ...(goals[metric] === undefined
      ? []
      : [{ label: `${label}: raw, each side in its own AsyncLocalStorage.run / raw`, metric, numerator: 'raw_scoped', denominator: 'raw', target: goals[metric]!.target, floorFor: goals[metric]!.goal }]),
  ]),
});
