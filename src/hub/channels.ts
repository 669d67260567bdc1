/**
 * The diagnostics_channel channels greenio publishes on: the plain `greenio:*` channels
 * (API.md names) and the TracingChannels `tracing:greenio.greenlet|wait|client|job|task:*`,
 * and a greenlet run's publishing. Kept below the hub so the hub publishes without
 * importing the instrumentation layer. Each publish point checks `hasSubscribers` first,
 * so nothing is built when nobody listens. Ops publish through op-channels.ts; the
 * message types are in trace-types.ts. Limits: stores bound to the greenlet channel are
 * entered for a greenlet's body only.
 */
import diagnostics from 'node:diagnostics_channel';
import type { GreenletTraceContext, GreenioTracingChannel, JobTraceContext, OpTraceContext, TaskTraceContext, TraceOutcome, TracedGreenlet } from './trace-types.js';

// ---------------------------------------------------------------------------------
// The channels.

const spawnPlain = diagnostics.channel('greenio:greenlet:spawn');
const startPlain = diagnostics.channel('greenio:greenlet:start');
const endPlain = diagnostics.channel('greenio:greenlet:end');
const ioStartPlain = diagnostics.channel('greenio:io:start');
const ioEndPlain = diagnostics.channel('greenio:io:end');
export const blockChannel = diagnostics.channel('greenio:block');

/** The plain `greenio:*` channel objects users subscribe to (src/instrument/channels.ts). */
export const plainChannels = {
  spawn: spawnPlain,
  start: startPlain,
  end: endPlain,
  ioStart: ioStartPlain,
  ioEnd: ioEndPlain,
  block: blockChannel,
} as const;

// The one cast: Node's object is this shape whatever @types/node says of its generics.
const tracing = <C extends object>(name: string): GreenioTracingChannel<C> =>
  diagnostics.tracingChannel(name) as unknown as GreenioTracingChannel<C>;

/** `tracing:greenio.greenlet:*`: a greenlet's body runs between start and end; asyncEnd at its death. */
export const greenletTracing = tracing<GreenletTraceContext>('greenio.greenlet');
/** `tracing:greenio.wait:*`: every hub op (wait, callback IO, handle) not of a client library. */
export const waitTracing = tracing<OpTraceContext>('greenio.wait');
/** `tracing:greenio.client:*`: the operations of patched client libraries (pg, mysql2, redis, ioredis) and HTTP requests (fetch, http(s).request, undici). */
export const clientTracing = tracing<OpTraceContext>('greenio.client');

/** `tracing:greenio.job:*`: a BullMQ job run by a `GreenWorker` (`tracePromise` around it: its greenlet starts inside). */
export const jobTracing = tracing<JobTraceContext>('greenio.job');

/** `tracing:greenio.task:*`: a map task of `Group`/`Pool` `map`, `imap`, `imapUnordered` (`tracePromise` around its function, in its greenlet). */
export const taskTracing = tracing<TaskTraceContext>('greenio.task');


// ---------------------------------------------------------------------------------
// Greenlet runs.

// One context per greenlet, kept from its start to its death only while traced.
const greenletContexts = new WeakMap<object, GreenletTraceContext>();

/**
 * greenlet.ts runs a greenlet's body through this when `greenletTracing.hasSubscribers`:
 * `start` with the stores bound to it entered (so the body and everything it schedules
 * run in them), `end` when the body returned (or threw); error/asyncStart/asyncEnd follow
 * at its death (`endChannel.publish`).
 */
export function traceGreenletRun(g: TracedGreenlet, fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
  const ctx = new GreenletContext(g);
  greenletContexts.set(g, ctx);
  return greenletTracing.start.runStores(ctx, runBody, undefined, ctx, fn, args);
}

class GreenletContext implements GreenletTraceContext {
  readonly kind = 'greenlet' as const;
  readonly id: number;
  readonly name: string;
  readonly parentId: number | null;
  readonly detail: string;
  readonly site: string | undefined;
  outcome: TraceOutcome | undefined = undefined;
  result?: unknown;
  error?: unknown;
  constructor(readonly greenlet: TracedGreenlet) {
    this.id = greenlet.id;
    this.name = greenlet.name ?? `Greenlet-${greenlet.id}`;
    this.parentId = greenlet.parent?.id ?? null;
    this.detail = greenlet.fnName ?? '';
    this.site = greenlet.spawnStack;
  }
}

function runBody(ctx: GreenletTraceContext, fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
  try {
    return fn(...(args as never[]));
  } finally {
    greenletTracing.end.publish(ctx);
  }
}

function greenletOutcome(g: TracedGreenlet, ok: boolean, value: unknown): TraceOutcome {
  if (g.x !== null && g.x.abandoned) return 'abandoned';
  if (g.killed !== null) return 'killed';
  if (ok) return 'ok';
  return value instanceof Error && value.name === 'TimeoutError' ? 'timedOut' : 'error';
}

interface GreenletEnd {
  greenlet: TracedGreenlet;
  ok: boolean;
  value: unknown;
}

/**
 * What greenlet.ts publishes at a greenlet's death: `greenio:greenlet:end`, and the
 * error/asyncStart/asyncEnd of its traced run (if its start was traced).
 */
class EndChannel {
  get hasSubscribers(): boolean {
    return endPlain.hasSubscribers || greenletTracing.hasSubscribers;
  }
  publish(m: GreenletEnd): void {
    if (endPlain.hasSubscribers) endPlain.publish(m);
    const ctx = greenletContexts.get(m.greenlet);
    if (ctx === undefined) return;
    greenletContexts.delete(m.greenlet);
    ctx.outcome = greenletOutcome(m.greenlet, m.ok, m.value);
    if (m.ok) {
      ctx.result = m.value;
    } else {
      ctx.error = m.value;
      greenletTracing.error.publish(ctx);
    }
    greenletTracing.asyncStart.publish(ctx);
    greenletTracing.asyncEnd.publish(ctx);
  }
}
export const endChannel = new EndChannel();

/** `greenio:greenlet:spawn` and `greenio:greenlet:start` (plain channels). */
export const spawnChannel = spawnPlain;
export const startChannel = startPlain;
