// greenio/otel with the OpenTelemetry SDK's InMemorySpanExporter: a span per greenlet
// whose parent is its parent greenlet's span, the greenlet's span active inside it,
// attributes (name, function, wait totals, outcome), kill and timeout events, client
// spans, idempotent register/unregister, and argument errors.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Greenlet, Queue, sleep, spawn, withTimeout } from '../../src/index.js';
import { registerGreenioInstrumentation } from '../../src/otel/index.js';
import { greenletTracing, waitTracing } from '../../src/hub/index.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const manager = new AsyncLocalStorageContextManager();
const tracer = provider.getTracer('test');
let unregister: (() => void) | null = null;

beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  context.disable();
  trace.disable();
});
afterEach(() => {
  unregister?.();
  unregister = null;
  exporter.reset();
});

/** The greenlet id of a greenlet's span (undefined for other spans: a wait's, a user's). */
const gid = (s: ReadableSpan): unknown => (s.attributes['greenio.kind'] === undefined ? s.attributes['greenio.greenlet.id'] : undefined);
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

describe('greenio/otel', () => {
  it('gives each greenlet a span whose parent is its parent greenlet\'s span: the span tree is the spawn tree', async () => {
    unregister = registerGreenioInstrumentation();
    const greenlets: Greenlet[] = [];
    const track = <T>(g: Greenlet<T>): Greenlet<T> => (greenlets.push(g as Greenlet), g);
    const leaf = async (ms: number): Promise<void> => sleep(ms);
    const branch = async (depth: number): Promise<void> => {
      const kids = [1, 2].map((i) => track(depth > 0 ? spawn(branch, depth - 1) : spawn(leaf, i)));
      for (const k of kids) await k.join();
    };
    await tracer.startActiveSpan('root', async (root) => {
      const top = track(spawn(branch, 2));
      const late = track(spawn(async () => sleep(1))); // a sibling from the same span
      await top.join();
      await late.join();
      root.end();
    });
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'root')!;
    const byGreenlet = new Map(spans.filter((s) => gid(s) !== undefined).map((s) => [gid(s), s]));
    expect(greenlets).toHaveLength(1 + 2 + 4 + 8 + 1);
    expect(byGreenlet.size).toBe(greenlets.length);
    for (const g of greenlets) {
      const span = byGreenlet.get(g.id)!;
      const expectedParent = greenlets.includes(g.parent!) ? byGreenlet.get(g.parent!.id)!.spanContext().spanId : root.spanContext().spanId;
      expect(parentOf(span), `${g.name}'s span`).toBe(expectedParent);
      expect(span.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(span.attributes['greenio.greenlet.parent_id']).toBe(g.parent!.id);
    }
  });

  it('makes the greenlet\'s span the active span inside it, across waits; spans made there nest under it', async () => {
    unregister = registerGreenioInstrumentation();
    const seen: (string | undefined)[] = [];
    const g = spawn(async function worker() {
      seen.push(trace.getActiveSpan()?.spanContext().spanId);
      await sleep(2);
      seen.push(trace.getActiveSpan()?.spanContext().spanId);
      await tracer.startActiveSpan('inner', async (inner) => {
        await spawn(async function nested() {
          await sleep(1);
        }).join();
        inner.end();
      });
    });
    await g.join();
    expect(trace.getActiveSpan()).toBe(undefined);
    const spans = exporter.getFinishedSpans();
    const mine = spans.find((s) => gid(s) === g.id)!;
    expect(seen).toEqual([mine.spanContext().spanId, mine.spanContext().spanId]);
    const inner = spans.find((s) => s.name === 'inner')!;
    expect(parentOf(inner)).toBe(mine.spanContext().spanId);
    const nested = spans.find((s) => s.attributes['code.function'] === 'nested')!;
    expect(parentOf(nested)).toBe(inner.spanContext().spanId);
  });

  it('sets name, function, outcome and wait totals per kind; the name a greenlet gives itself wins', async () => {
    unregister = registerGreenioInstrumentation();
    const q = new Queue<number>();
    const g = spawn(async function consumer() {
      (await import('../../src/index.js')).getCurrent().name = 'consumer-1';
      await sleep(5);
      await sleep(5);
      return q.get();
    });
    // Until the consumer waits on the queue, however slow the machine: its get is a wait.
    while (!/getters=1/.test(q.describe())) await sleep(1);
    q.put(7);
    await g.join();
    const span = exporter.getFinishedSpans().find((s) => gid(s) === g.id)!;
    expect(span.name).toBe('consumer-1');
    expect(span.attributes).toMatchObject({
      'greenio.greenlet.name': 'consumer-1',
      'code.function': 'consumer',
      'greenio.outcome': 'ok',
      'greenio.wait.sleep.count': 2,
      'greenio.wait.queue.get.count': 1,
    });
    expect(span.attributes['greenio.wait.sleep.ms']).toBeGreaterThanOrEqual(8);
    expect(span.attributes['greenio.wait.queue.get.ms']).toBeGreaterThan(0);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records a kill where it landed, a timeout as an event and an error status, a failure as an exception', async () => {
    unregister = registerGreenioInstrumentation();
    const killed = spawn(async () => sleep(60_000));
    const timed = spawn(async () => withTimeout(10, () => sleep(60_000)));
    const failed = spawn(async () => {
      await sleep(1);
      throw new Error('boom');
    });
    failed.linkException(() => {}); // observed: no "nobody joined it" report
    await sleep(5);
    await killed.kill();
    await timed.join();
    await failed.join();
    const spans = exporter.getFinishedSpans();
    const of = (g: Greenlet): ReadableSpan => spans.find((s) => gid(s) === g.id)!;
    expect(of(killed).attributes['greenio.outcome']).toBe('killed');
    expect(of(killed).events.map((e) => [e.name, e.attributes?.['greenio.kind']])).toEqual([['greenio.kill', 'sleep']]);
    expect(of(timed).attributes['greenio.outcome']).toBe('timedOut');
    expect(of(timed).events.map((e) => e.name)).toEqual(['greenio.timeout', 'greenio.timeout']);
    expect(of(timed).status.code).toBe(SpanStatusCode.ERROR);
    expect(of(failed).attributes['greenio.outcome']).toBe('error');
    expect(of(failed).status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(of(failed).events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'boom']]);
  });

  it('makes spans of chosen waits, children of their greenlet\'s span', async () => {
    unregister = registerGreenioInstrumentation({ waitSpans: ['sleep'] });
    const q = new Queue<number>();
    q.put(1);
    const g = spawn(async () => {
      await sleep(3);
      await q.get();
    });
    await g.join();
    const spans = exporter.getFinishedSpans();
    const mine = spans.find((s) => gid(s) === g.id)!;
    const waits = spans.filter((s) => s.attributes['greenio.kind'] !== undefined && s.attributes['greenio.greenlet.id'] === g.id);
    expect(waits.map((s) => [s.name, s.attributes['greenio.detail'], s.attributes['greenio.outcome'], parentOf(s)])).toEqual([
      ['sleep', 3, 'ok', mine.spanContext().spanId],
    ]);
  });

  it('register is idempotent; unregister stops everything and releases the channels', async () => {
    const off = registerGreenioInstrumentation();
    expect(registerGreenioInstrumentation({ waitSpans: true })).toBe(off);
    expect(greenletTracing.hasSubscribers).toBe(true);
    expect(waitTracing.hasSubscribers).toBe(true);
    off();
    off();
    expect(greenletTracing.hasSubscribers).toBe(false);
    expect(waitTracing.hasSubscribers).toBe(false);
    await spawn(async () => sleep(1)).join();
    expect(exporter.getFinishedSpans()).toEqual([]);
    unregister = registerGreenioInstrumentation();
    expect(unregister).not.toBe(off);
  });

  it('ends the spans of greenlets still running when unregistered (outcome "running")', async () => {
    unregister = registerGreenioInstrumentation();
    const g = spawn(async () => sleep(60_000));
    await sleep(2);
    unregister();
    unregister = null;
    const span = exporter.getFinishedSpans().find((s) => gid(s) === g.id)!;
    expect(span.attributes['greenio.outcome']).toBe('running');
    await g.kill();
  });

  it('rejects bad options with a TypeError quoting the value', () => {
    expect(() => registerGreenioInstrumentation('x' as never)).toThrow(/Expected `options` to be an options object, got `'x'` \(string\)/);
    expect(() => registerGreenioInstrumentation({ tracerProvider: {} as never })).toThrow(/Expected `options.tracerProvider` to be a TracerProvider, got `\{\}` \(object\)/);
    expect(() => registerGreenioInstrumentation({ clientSpans: 1 as never })).toThrow(/Expected `options.clientSpans` to be a boolean, got `1` \(number\)/);
    expect(() => registerGreenioInstrumentation({ waitSpans: [1] as never })).toThrow(TypeError);
    expect(greenletTracing.hasSubscribers).toBe(false);
  });
});
