/**
 * A map task under `tracing:greenio.task:*` (hub/channels.ts): the task's function runs in
 * `tracePromise` inside its greenlet, with a context saying the map, the pool and the
 * item's place; the outcome is set before the channel's `error`/`asyncStart`. Used only
 * while the channel has subscribers. Limits: a task abandoned on a promise greenio cannot
 * see never settles, so its `asyncEnd` never comes; ThreadPool/ProcessPool tasks are
 * waits (`greenio.wait`) of the greenlet awaiting them, not tasks here.
 */
import { taskTracing, type TaskTraceContext, type TraceOutcome } from '../hub/index.js';
import { GreenletExit } from '../errors.js';
import { getCurrent } from '../greenlet.js';

/** A map's function (feed.ts's `Mapper`, written here so the two files import one way). */
type Mapper<T, R> = (item: T) => R | Promise<R>;

function outcomeOf(e: unknown): TraceOutcome {
  if (e instanceof GreenletExit) return 'killed';
  return e instanceof Error && e.name === 'TimeoutError' ? 'timedOut' : 'error';
}

/** `fn` wrapped to publish one task's events, or `fn` itself when nobody listens. */
export function tracedMapper<T, R>(fn: Mapper<T, R>, kind: TaskTraceContext['kind'], pool: object, index: number): Mapper<T, R> {
  if (!taskTracing.hasSubscribers) return fn;
  const ctx: TaskTraceContext = { kind, pool: String(pool), index, greenlet: undefined, outcome: undefined };
  const run = async (item: T): Promise<R> => {
    ctx.greenlet = getCurrent();
    try {
      const r = await fn(item);
      ctx.outcome = 'ok';
      return r;
    } catch (e) {
      ctx.outcome = outcomeOf(e);
      throw e;
    }
  };
  const traced: Mapper<T, R> = (item) => taskTracing.tracePromise(() => run(item), ctx);
  // run-info and spans name a greenlet by its function: keep the user's name.
  Object.defineProperty(traced, 'name', { value: fn.name });
  return traced;
}
