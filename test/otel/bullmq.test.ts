// BullMQ jobs of a GreenWorker, against a real redis-server: the tracing:greenio.job:*
// events and context objects, and greenio/otel's consumer span per job with the job's
// greenlet span under it (ok, failed and timed-out jobs).
import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GreenWorker } from '../../src/bullmq/index.js';
import { sleep } from '../../src/sleep.js';
import { tracingChannels, type JobTraceContext } from '../../src/instrument/tracing.js';
import { registerGreenioInstrumentation } from '../../src/otel/index.js';
import { patchAll } from '../../src/monkey.js';
import { startRedis, type RedisServer } from '../bullmq/redis.js';

patchAll({ warnLate: false }); // as a GreenWorker should run: its jobs' sockets abortable

let redis: RedisServer;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(async () => {
  redis = await startRedis();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
}, 60_000);
afterAll(async () => {
  await provider.shutdown();
  context.disable();
  trace.disable();
  await redis?.stop();
});

async function processor(job: Job<{ ms: number; fail?: boolean }>): Promise<number> {
  await sleep(job.data.ms);
  if (job.data.fail) throw new Error(`job ${job.name} failed`);
  return job.data.ms;
}

/** Run three jobs (ok, failing, over its 100 ms timeout) through a fresh worker; returns when all are settled. */
async function runJobs(queueName: string): Promise<void> {
  const connection = { url: redis.url };
  const queue = new Queue(queueName, { connection });
  const worker = new GreenWorker(queueName, processor, { connection, concurrency: 3, timeout: 100 });
  worker.on('error', () => {});
  const settled = new Promise<void>((resolve) => {
    let n = 0;
    const one = (): void => void (++n === 3 && resolve());
    worker.on('completed', one);
    worker.on('failed', one);
  });
  await worker.waitUntilReady({ timeout: 10_000 });
  await queue.add('ok', { ms: 5 }, { jobId: 'a', attempts: 1 });
  await queue.add('bad', { ms: 5, fail: true }, { jobId: 'b', attempts: 1 });
  await queue.add('slow', { ms: 60_000 }, { jobId: 'c', attempts: 1 });
  await settled;
  await worker.close();
  await queue.close();
}

describe('BullMQ jobs traced', () => {
  it('publish tracing:greenio.job:* with one context per job: start, end, then error (if it failed), asyncStart, asyncEnd', async () => {
    const log: [string, string, JobTraceContext][] = [];
    const on = (ev: string) => (ctx: JobTraceContext): void => void log.push([ctx.jobId, ev, ctx]);
    const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
    tracingChannels.job.subscribe(handlers);
    try {
      await runJobs('traced');
    } finally {
      tracingChannels.job.unsubscribe(handlers);
    }
    const events = (id: string): string[] => log.filter(([j]) => j === id).map(([, ev]) => ev);
    expect(events('a')).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(events('b')).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(events('c')).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    const ctx = (id: string): JobTraceContext => log.find(([j]) => j === id)![2];
    expect(ctx('a')).toMatchObject({ kind: 'bullmq.job', queue: 'traced', jobId: 'a', detail: 'ok', attempt: 1, outcome: 'ok', result: 5 });
    expect((ctx('a').greenlet as { name: string }).name).toBe('traced:a');
    expect(ctx('b')).toMatchObject({ detail: 'bad', outcome: 'error' });
    expect((ctx('b').error as Error).message).toBe('job bad failed');
    expect(ctx('c')).toMatchObject({ detail: 'slow', outcome: 'timedOut' });
    expect((ctx('c').error as Error).name).toBe('TimeoutError');
  }, 60_000);

  it('greenio/otel: a consumer span per job, the job\'s greenlet span under it', async () => {
    const unregister = registerGreenioInstrumentation();
    try {
      await runJobs('spans');
    } finally {
      unregister();
    }
    const spans = exporter.getFinishedSpans();
    const jobs = spans.filter((s) => s.name === 'process spans');
    expect(jobs.map((s) => s.attributes['messaging.message.id']).sort()).toEqual(['a', 'b', 'c']);
    for (const job of jobs) {
      const id = job.attributes['messaging.message.id'];
      expect(job.kind).toBe(SpanKind.CONSUMER);
      expect(job.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': 'spans' });
      const greenlet = spans.find((s) => s.name === `spans:${id}`)!;
      expect(greenlet.parentSpanContext?.spanId, `greenlet of job ${id}`).toBe(job.spanContext().spanId);
    }
    const of = (id: string) => jobs.find((s) => s.attributes['messaging.message.id'] === id)!;
    expect(of('a').attributes['greenio.outcome']).toBe('ok');
    expect(of('a').status.code).toBe(SpanStatusCode.UNSET);
    expect(of('b').attributes['greenio.outcome']).toBe('error');
    expect(of('b').status).toEqual({ code: SpanStatusCode.ERROR, message: 'job bad failed' });
    expect(of('c').attributes['greenio.outcome']).toBe('timedOut');
    expect(of('c').events.map((e) => e.name)).toEqual(['greenio.timeout']);
  }, 60_000);
});
