/**
 * greenio/otel: OpenTelemetry spans from greenio's TracingChannels. One span per greenlet,
 * child of the span active where it was spawned (so of its parent greenlet's span), made
 * the active span inside the greenlet; BullMQ jobs and client operations as spans; waits
 * as spans on request.
 * Limits: the greenlet's span is active inside it only with an AsyncLocalStorage context
 * manager (sdk-trace-node's default) set up before registering; otherwise spans still nest
 * by greenlet parentage. Greenlets spawned before registering get no span.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { context, trace, type Context, type TracerProvider } from '@opentelemetry/api';
import { greenletTracing, jobTracing } from '../hub/index.js';
import { checkOptions, expected } from '../internal/validate.js';
import { SpanBook } from './spans.js';

/** Options of `registerGreenioInstrumentation()`. */
export interface GreenioInstrumentationOptions {
  /** Where spans go (default: the global tracer provider, `trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** A span per operation of a patched client library (pg, postgres, mysql2, redis, ioredis, undici). Default true. */
  clientSpans?: boolean;
  /**
   * A span per wait: `true` for every kind, or the kinds (`['sleep', 'queue.get']`).
   * Default false: waits only add up into their greenlet span's `greenio.wait.*` attributes.
   */
  waitSpans?: boolean | readonly string[];
}

/** The name of greenio's tracer (its instrumentation scope). */
export const TRACER_NAME = 'greenio';

let registered: (() => void) | null = null;

/**
 * Turn greenio's TracingChannels into OpenTelemetry spans; returns the function that
 * stops it. Idempotent: while registered, another call returns the same function.
 * Register after the OpenTelemetry SDK (its context manager) is set up.
 * @example
 * import { trace } from '@opentelemetry/api';
 * import { registerGreenioInstrumentation } from 'greenio/otel';
 * import { spawn, sleep } from 'greenio';
 * const unregister = registerGreenioInstrumentation();
 * await trace.getTracer('app').startActiveSpan('job', async (span) => {
 *   await spawn(async () => { await sleep(10); }).join(); // a span "Greenlet-…" under "job"
 *   span.end();
 * });
 * unregister();
 */
export function registerGreenioInstrumentation(options?: GreenioInstrumentationOptions): () => void {
  const o = checkOptions('options', options);
  const provider = o.tracerProvider ?? trace.getTracerProvider();
  if (typeof (provider as { getTracer?: unknown }).getTracer !== 'function') {
    throw new TypeError(expected('options.tracerProvider', 'a TracerProvider', o.tracerProvider));
  }
  if (o.clientSpans !== undefined && typeof o.clientSpans !== 'boolean') {
    throw new TypeError(expected('options.clientSpans', 'a boolean', o.clientSpans));
  }
  const ws = o.waitSpans;
  if (ws !== undefined && typeof ws !== 'boolean' && !(Array.isArray(ws) && ws.every((k) => typeof k === 'string'))) {
    throw new TypeError(expected('options.waitSpans', 'a boolean or an array of kind names', ws));
  }
  if (registered !== null) return registered;

  const book = new SpanBook((provider as TracerProvider).getTracer(TRACER_NAME), {
    clientSpans: (o.clientSpans as boolean | undefined) ?? true,
    waitSpans: ws === true ? true : Array.isArray(ws) ? new Set<string>(ws as string[]) : false,
  });
  const offs: (() => void)[] = [];
  const on = (name: string, fn: (ctx: never) => void): void => {
    const listener = fn as (message: unknown) => void;
    diagnostics.subscribe(name, listener);
    offs.push(() => diagnostics.unsubscribe(name, listener));
  };

  // The greenlet's span becomes the active context of its body through the context
  // manager's own store, entered by the channel for the body and all it schedules.
  const store = contextStorage();
  if (store !== null) {
    greenletTracing.start.bindStore(store, (ctx) => book.greenletStarted(ctx, context.active()));
    jobTracing.start.bindStore(store, (ctx) => book.jobStarted(ctx, context.active()));
    offs.push(() => greenletTracing.start.unbindStore(store));
    offs.push(() => jobTracing.start.unbindStore(store));
  } else {
    on('tracing:greenio.greenlet:start', (ctx) => void book.greenletStarted(ctx, context.active()));
    on('tracing:greenio.job:start', (ctx) => void book.jobStarted(ctx, context.active()));
  }
  on('tracing:greenio.job:asyncEnd', (ctx) => book.jobEnded(ctx));
  on('tracing:greenio.greenlet:asyncEnd', (ctx) => book.greenletEnded(ctx));
  // Waits: their ends add up into greenlet spans; their starts matter only for wait spans.
  if (ws !== undefined && ws !== false) on('tracing:greenio.wait:start', (ctx) => book.opStarted(ctx, context.active(), false));
  on('tracing:greenio.wait:asyncEnd', (ctx) => book.opEnded(ctx));
  on('tracing:greenio.client:start', (ctx) => book.opStarted(ctx, context.active(), true));
  on('tracing:greenio.client:asyncEnd', (ctx) => book.opEnded(ctx));

  const unregister = (): void => {
    if (registered !== unregister) return;
    registered = null;
    for (const off of offs) off();
    book.clear();
  };
  registered = unregister;
  return unregister;
}

/**
 * The AsyncLocalStorage behind the global context manager, if it has one (OTel's
 * AsyncLocalStorageContextManager keeps it in `_asyncLocalStorage`; binding it to a
 * TracingChannel is how diagnostics_channel integrations make a span active).
 */
function contextStorage(): AsyncLocalStorage<Context> | null {
  const api = context as unknown as { _getContextManager?: () => unknown };
  const manager = typeof api._getContextManager === 'function' ? api._getContextManager() : undefined;
  const als = (manager as { _asyncLocalStorage?: unknown } | undefined)?._asyncLocalStorage;
  return als instanceof AsyncLocalStorage ? (als as AsyncLocalStorage<Context>) : null;
}
