/**
 * What the hub publishes as an op (a wait, callback IO, a handle, a client operation)
 * begins and ends: `greenio:io:start|end` and the `tracing:greenio.wait|client:*` events,
 * with one context per traced op. Whether anyone listens is kept by watching subscriptions,
 * so an op with no listener reads a boolean. Limits: it publishes, it does not time or
 * describe ops (ops.ts and switch.ts hand it the message).
 */
import diagnostics from 'node:diagnostics_channel';
import { clientTracing, plainChannels, waitTracing } from './channels.js';
import { watchSubscribers } from './subscribers.js';
import type { GreenioTracingChannel, OpTraceContext, TraceEventChannel, TraceOutcome, TracedGreenlet } from './trace-types.js';

const ioStartPlain = plainChannels.ioStart;
const ioEndPlain = plainChannels.ioEnd;


// Client operations: the client libraries' (clients.ts rows) and HTTP requests (fetch,
// http(s).request, undici). A fetch's body read (`fetch.body`) stays a wait.
const CLIENT_KIND = /^(?:(?:pg|postgres|mysql|redis|ioredis|undici)(?:\.|$)|fetch$|http\.request$)/;
/**
 * A TracingChannel's five event channels, held directly: asking them is five inlined getter
 * reads, where Node 26's `TracingChannel.hasSubscribers` goes through two more objects. The
 * objects are stable (`diagnostics_channel.channel(name)` returns the one live channel).
 */
class OpEvents {
  readonly start: TraceEventChannel<OpTraceContext>;
  readonly end: TraceEventChannel<OpTraceContext>;
  readonly asyncStart: TraceEventChannel<OpTraceContext>;
  readonly asyncEnd: TraceEventChannel<OpTraceContext>;
  readonly error: TraceEventChannel<OpTraceContext>;
  constructor(tc: GreenioTracingChannel<OpTraceContext>) {
    this.start = tc.start;
    this.end = tc.end;
    this.asyncStart = tc.asyncStart;
    this.asyncEnd = tc.asyncEnd;
    this.error = tc.error;
  }
  all(): Array<TraceEventChannel<OpTraceContext>> {
    return [this.start, this.end, this.asyncStart, this.asyncEnd, this.error];
  }
  on(): boolean {
    return this.start.hasSubscribers || this.end.hasSubscribers || this.asyncStart.hasSubscribers || this.asyncEnd.hasSubscribers || this.error.hasSubscribers;
  }
}
const waitEvents = new OpEvents(waitTracing);
const clientEvents = new OpEvents(clientTracing);
const eventsOfKind = new Map<string, OpEvents>();
function eventsOf(kind: string): OpEvents {
  let ev = eventsOfKind.get(kind);
  if (ev === undefined) eventsOfKind.set(kind, (ev = CLIENT_KIND.test(kind) ? clientEvents : waitEvents));
  return ev;
}

// ---------------------------------------------------------------------------------
// Ops: waits, callback IO, handles, client operations.

const OP_OUTCOMES: Readonly<Record<string, TraceOutcome>> = {
  ok: 'ok',
  error: 'error',
  killed: 'killed',
  timeout: 'timedOut',
  abandoned: 'abandoned',
};

interface IoStart {
  greenlet: TracedGreenlet;
  op: { readonly isWait: boolean };
  kind: string;
  detail: unknown;
}
interface IoEnd extends IoStart {
  durationMs: number;
  outcome: 'ok' | 'error' | 'killed' | 'timeout' | 'abandoned';
  /** The error it failed with, when the hub knows it. */
  error?: unknown;
  /** Interrupted: what the interrupt could not undo (`not cancelled on the server: …`). */
  note?: string;
  /** An op made only to be published as it ends (an abandoned await): it starts now too. */
  whole?: boolean;
}

/** An op's tracing context: a class, so every context has one shape (publishing is hot). */
class OpContext implements OpTraceContext {
  readonly id: number;
  readonly parentId: number | null;
  outcome: TraceOutcome | undefined = undefined;
  durationMs: number | undefined = undefined;
  error?: unknown;
  note?: string;
  constructor(
    readonly greenlet: TracedGreenlet,
    readonly kind: string,
    readonly detail: unknown,
    readonly isWait: boolean,
  ) {
    this.id = greenlet.id;
    this.parentId = greenlet.parent?.id ?? null;
  }
  /** Read when asked (most subscribers never do: building `Greenlet-<id>` per op is not free). */
  get name(): string {
    return this.greenlet.name ?? `Greenlet-${this.id}`;
  }
}

// An op's context from its start to its end. Weak: an op that never ends (its greenlet
// parked forever and collected) must not be kept by tracing.
const opContexts = new WeakMap<object, OpContext>();
// Contexts begun and not yet ended: while none is, an op's end has nothing to look up, so
// its check is one comparison (a context whose op was collected keeps it above 0: the end
// then looks up its op, still correct).
let tracedOps = 0;

function opTracingOn(): boolean {
  return waitEvents.on() || clientEvents.on();
}

// Whether an op's start and end may have anyone to tell, kept by watching subscriptions
// (subscribers.ts): an op with no listener reads a boolean instead of eleven getters
// (~7 % of a `sleep(0)`). Both stay true (ask the channels) if the watch cannot be trusted:
// it must see a TracingChannel's subscription (Node 26 goes through private windows) and
// `diagnostics_channel.subscribe`'s, tried once here.
let startWatched = true;
let endWatched = true;
/** @internal True when the watch is in use (tested on each Node: else every op asks the getters). */
export let watchTrusted = false;
function recount(): void {
  startWatched = ioStartPlain.hasSubscribers || opTracingOn();
  endWatched = ioEndPlain.hasSubscribers;
}
if (watchSubscribers([ioStartPlain, ioEndPlain, ...waitEvents.all(), ...clientEvents.all()], recount)) {
  const noop = { start(): void {}, error(): void {} };
  startWatched = endWatched = false;
  waitTracing.subscribe(noop);
  const traced = startWatched;
  diagnostics.subscribe('greenio:io:end', noop.start);
  const seen = traced && endWatched;
  waitTracing.unsubscribe(noop);
  diagnostics.unsubscribe('greenio:io:end', noop.start);
  if (seen) recount();
  else startWatched = endWatched = true;
  watchTrusted = seen;
}

/** What the hub publishes when an op begins: `greenio:io:start`, and start/end of its tracing channel. */
class IoStartChannel { // not a literal: V8 keeps one with getters as a dictionary (a LoadIC per op)
  get hasSubscribers(): boolean {
    return startWatched && (ioStartPlain.hasSubscribers || opTracingOn());
  }
  publish(m: IoStart): void {
    if (ioStartPlain.hasSubscribers) ioStartPlain.publish(m);
    const ev = eventsOf(m.kind);
    if (!ev.on()) return;
    const ctx = new OpContext(m.greenlet, m.kind, m.detail, m.op.isWait);
    opContexts.set(m.op, ctx);
    tracedOps++;
    ev.start.publish(ctx);
    // The call that began the op has returned its promise (or its callback is registered).
    ev.end.publish(ctx);
  }
}
export const ioStartChannel = new IoStartChannel();

/**
 * What the hub publishes when an op ends: `greenio:io:end`, and error/asyncStart/asyncEnd of
 * its trace. An op published whole (`whole`: an abandoned await) asks `wholeWanted` first.
 */
class IoEndChannel {
  get hasSubscribers(): boolean {
    return (endWatched && ioEndPlain.hasSubscribers) || tracedOps !== 0;
  }
  get wholeWanted(): boolean {
    return ioEndPlain.hasSubscribers || opTracingOn();
  }
  publish(m: IoEnd): void {
    if (ioEndPlain.hasSubscribers) ioEndPlain.publish(m);
    let ctx = tracedOps === 0 ? undefined : opContexts.get(m.op);
    const ev = eventsOf(m.kind);
    if (ctx === undefined) {
      if (m.whole !== true || !ev.on()) return;
      ctx = new OpContext(m.greenlet, m.kind, m.detail, m.op.isWait);
      ev.start.publish(ctx);
      ev.end.publish(ctx);
    } else {
      opContexts.delete(m.op);
      tracedOps--;
    }
    ctx.outcome = OP_OUTCOMES[m.outcome] ?? 'error';
    ctx.durationMs = m.durationMs;
    if (m.note !== undefined) ctx.note = m.note;
    // Node's convention: `error` is published when the operation threw, with `context.error`.
    // An op ended by its own timeout into a result (`event.wait(ms)` → false) has none.
    if (m.error !== undefined || m.outcome === 'error') {
      ctx.error = m.error;
      ev.error.publish(ctx);
    }
    ev.asyncStart.publish(ctx);
    ev.asyncEnd.publish(ctx);
  }
}
export const ioEndChannel = new IoEndChannel();