/**
 * greenio's TracingChannels (`diagnostics_channel.tracingChannel`), the shape APM agents
 * subscribe to: `tracing:greenio.greenlet:*` (a greenlet's run), `tracing:greenio.wait:*`
 * (every wait, callback IO and handle), `tracing:greenio.client:*` (operations of patched
 * client libraries, HTTP requests), `tracing:greenio.job:*` (BullMQ jobs of a GreenWorker)
 * and `tracing:greenio.task:*` (map tasks). One context object per operation, `error` set
 * and published only when it failed; nothing is published, and no context is built, without
 * subscribers. Limit: waits publish `start` and `end` together when the op begins (stores
 * are entered only for a greenlet's body and for jobs and tasks).
 */
import { clientTracing, greenletTracing, jobTracing, taskTracing, waitTracing } from '../hub/index.js';

export type { GreenletTraceContext, GreenioTracingChannel, JobTraceContext, OpTraceContext, TaskTraceContext, TraceEventChannel, TraceGreenletFields, TraceOutcome, TraceSubscribers } from '../hub/index.js';

/**
 * The TracingChannel objects (`diagnostics_channel.tracingChannel(name)` with the names
 * `greenio.greenlet`, `greenio.wait`, `greenio.client`, `greenio.job` returns the same channels).
 * @example
 * import { tracingChannels } from 'greenio';
 * tracingChannels.greenlet.subscribe({
 *   start(ctx) { console.log(`${ctx.name} (parent ${ctx.parentId}) runs`); },
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd(ctx) { console.log(`${ctx.name} ended: ${ctx.outcome}`); },
 *   error(ctx) { console.log(`${ctx.name} failed`, ctx.error); },
 * });
 */
export const tracingChannels = {
  greenlet: greenletTracing,
  wait: waitTracing,
  client: clientTracing,
  job: jobTracing,
  task: taskTracing,
} as const;
