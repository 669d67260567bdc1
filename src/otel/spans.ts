/**
 * The spans greenio/otel keeps: one per traced greenlet (with its wait totals, kill and
 * timeout events), one per BullMQ job (its greenlet's span nests under it) and one per
 * client operation or chosen wait. Fed by the TracingChannel
 * handlers of index.ts. Limits: a greenlet's name is read again at its end (a greenlet
 * may name itself), attributes take only strings and numbers of an op's detail.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { GreenletTraceContext, JobTraceContext, OpTraceContext } from '../hub/index.js';

interface Choices {
  clientSpans: boolean;
  waitSpans: boolean | ReadonlySet<string>;
}

interface GreenletEntry {
  span: Span;
  /** kind -> [total ms, count] of the waits it blocked on. */
  waits: Map<string, [number, number]>;
  /** A kill event was added when an interrupted wait ended. */
  killNoted: boolean;
}

const DETAIL_MAX = 200;

/** A wait's detail as an attribute value: strings (cut) and numbers only. */
function detailValue(detail: unknown): string | number | undefined {
  if (typeof detail === 'number') return detail;
  if (typeof detail === 'string') return detail.length > DETAIL_MAX ? `${detail.slice(0, DETAIL_MAX)}…` : detail;
  return undefined;
}

function whereAttributes(ctx: OpTraceContext): Attributes {
  const d = detailValue(ctx.detail);
  return d === undefined ? { 'greenio.kind': ctx.kind } : { 'greenio.kind': ctx.kind, 'greenio.detail': d };
}

function errorAttributes(e: unknown): Attributes {
  if (e instanceof Error) return { 'exception.type': e.name, 'exception.message': e.message };
  return e === undefined ? {} : { 'exception.message': String(e) };
}

/** @internal */
export class SpanBook {
  // By greenlet id: a child finds its parent's span when no context manager carries it.
  readonly #greenlets = new Map<number, GreenletEntry>();
  readonly #ops = new WeakMap<OpTraceContext, Span>();
  readonly #jobs = new WeakMap<JobTraceContext, Span>();

  constructor(
    readonly tracer: Tracer,
    readonly choices: Choices,
  ) {}

  /** Start the greenlet's span; returns the context its body runs in. */
  greenletStarted(ctx: GreenletTraceContext, active: Context): Context {
    let parent = active;
    if (trace.getSpan(parent) === undefined && ctx.parentId !== null) {
      const p = this.#greenlets.get(ctx.parentId);
      if (p !== undefined) parent = trace.setSpan(parent, p.span);
    }
    const attributes: Attributes = {
      'greenio.greenlet.id': ctx.id,
      'greenio.greenlet.name': ctx.name,
    };
    if (ctx.detail !== '') attributes['code.function'] = ctx.detail;
    if (ctx.parentId !== null) attributes['greenio.greenlet.parent_id'] = ctx.parentId;
    if (ctx.site !== undefined) attributes['greenio.greenlet.spawn_site'] = ctx.site;
    const span = this.tracer.startSpan(ctx.name, { attributes }, parent);
    this.#greenlets.set(ctx.id, { span, waits: new Map(), killNoted: false });
    return trace.setSpan(parent, span);
  }

  greenletEnded(ctx: GreenletTraceContext): void {
    const entry = this.#greenlets.get(ctx.id);
    if (entry === undefined) return;
    this.#greenlets.delete(ctx.id);
    const { span } = entry;
    const name = (ctx.greenlet as { name?: unknown }).name;
    if (typeof name === 'string' && name !== ctx.name) {
      span.updateName(name);
      span.setAttribute('greenio.greenlet.name', name);
    }
    span.setAttribute('greenio.outcome', ctx.outcome ?? 'ok');
    for (const [kind, [ms, n]] of entry.waits) {
      span.setAttribute(`greenio.wait.${kind}.ms`, Math.round(ms * 1000) / 1000);
      span.setAttribute(`greenio.wait.${kind}.count`, n);
    }
    switch (ctx.outcome) {
      case 'error':
        if (ctx.error instanceof Error) span.recordException(ctx.error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error instanceof Error ? ctx.error.message : String(ctx.error) });
        break;
      case 'timedOut':
        span.addEvent('greenio.timeout', errorAttributes(ctx.error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error instanceof Error ? ctx.error.message : 'timed out' });
        break;
      case 'killed':
      case 'abandoned':
        if (!entry.killNoted) span.addEvent('greenio.kill', errorAttributes(ctx.error ?? ctx.result));
        if (ctx.outcome === 'abandoned') span.addEvent('greenio.abandoned');
        break;
    }
    span.end();
  }

  opStarted(ctx: OpTraceContext, active: Context, client: boolean): void {
    const w = this.choices.waitSpans;
    const wanted = client ? this.choices.clientSpans : w === true || (w !== false && w.has(ctx.kind));
    if (!wanted) return;
    let parent = active;
    if (trace.getSpan(parent) === undefined) {
      const g = this.#greenlets.get(ctx.id);
      if (g !== undefined) parent = trace.setSpan(parent, g.span);
    }
    const attributes: Attributes = { 'greenio.kind': ctx.kind, 'greenio.greenlet.id': ctx.id };
    const d = detailValue(ctx.detail);
    if (d !== undefined) attributes['greenio.detail'] = d;
    this.#ops.set(ctx, this.tracer.startSpan(ctx.kind, { attributes }, parent));
  }

  opEnded(ctx: OpTraceContext): void {
    const entry = this.#greenlets.get(ctx.id);
    if (entry !== undefined) {
      if (ctx.isWait) {
        const t = entry.waits.get(ctx.kind);
        if (t === undefined) entry.waits.set(ctx.kind, [ctx.durationMs ?? 0, 1]);
        else {
          t[0] += ctx.durationMs ?? 0;
          t[1]++;
        }
      }
      // Where a kill or a timeout landed: the wait it interrupted.
      if (ctx.outcome === 'killed' && ctx.isWait && !entry.killNoted) {
        entry.killNoted = true;
        entry.span.addEvent('greenio.kill', whereAttributes(ctx));
      } else if (ctx.outcome === 'timedOut') {
        entry.span.addEvent('greenio.timeout', whereAttributes(ctx));
      }
    }
    const span = this.#ops.get(ctx);
    if (span === undefined) return;
    this.#ops.delete(ctx);
    span.setAttribute('greenio.outcome', ctx.outcome ?? 'ok');
    if (ctx.outcome !== 'ok') {
      // A failed operation records what it failed with (a kill's or a timeout's error too).
      if (ctx.error instanceof Error) span.recordException(ctx.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error instanceof Error ? `${ctx.outcome}: ${ctx.error.message}` : ctx.outcome });
    }
    span.end();
  }

  /** Start a job's span (a consumer span, OTel's messaging names); returns the context its greenlet starts in. */
  jobStarted(ctx: JobTraceContext, active: Context): Context {
    const attributes: Attributes = {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': ctx.queue,
      'messaging.message.id': ctx.jobId,
      'greenio.job.name': ctx.detail,
      'greenio.job.attempt': ctx.attempt,
    };
    const span = this.tracer.startSpan(`process ${ctx.queue}`, { kind: SpanKind.CONSUMER, attributes }, active);
    this.#jobs.set(ctx, span);
    return trace.setSpan(active, span);
  }

  jobEnded(ctx: JobTraceContext): void {
    const span = this.#jobs.get(ctx);
    if (span === undefined) return;
    this.#jobs.delete(ctx);
    span.setAttribute('greenio.outcome', ctx.outcome ?? (ctx.error === undefined ? 'ok' : 'error'));
    if (ctx.outcome === 'killed') span.addEvent('greenio.kill', errorAttributes(ctx.error));
    else if (ctx.error !== undefined) {
      if (ctx.outcome === 'timedOut') span.addEvent('greenio.timeout', errorAttributes(ctx.error));
      else if (ctx.error instanceof Error) span.recordException(ctx.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error instanceof Error ? ctx.error.message : String(ctx.error) });
    }
    span.end();
  }

  /** Unregistering: end the spans of greenlets still running, so they are exported. */
  clear(): void {
    for (const { span } of this.#greenlets.values()) {
      span.setAttribute('greenio.outcome', 'running');
      span.end();
    }
    this.#greenlets.clear();
  }
}
