/**
 * Per-job IO summaries: what a job's greenlet waited on (counts and wait time per kind
 * of wait, from the hub's per-greenlet totals), as an object and as the one log line
 * `GreenWorker` adds to the job (`greenio io: ...`). Limits: only waits greenio sees are
 * counted (patched IO and greenio primitives); awaiting BullMQ's own Redis calls from a
 * job (`job.updateProgress`) is not, and wait times overlap when a job waits on several
 * things at once. A job that BullMQ deletes as it completes (`removeOnComplete: true`) gets
 * no line: it would be deleted with the job.
 */
import type { Job } from 'bullmq';
import type { Greenlet } from '../greenlet.js';
import { ioOf } from '../hub/index.js';
import { expected } from '../internal/validate.js';

/** One kind of wait in a job's summary. */
export interface JobIOKind {
  /** How many waits of this kind ended. */
  count: number;
  /** Their total wait time, in ms. */
  ms: number;
  /** The longest one, in ms. */
  maxMs: number;
}

/** What one job's greenlet waited on, per kind (`net.socket`, `http.request`, `sleep`...). */
export interface JobIOSummary {
  /** Waits and tracked operations that ended, all kinds together. */
  ops: number;
  /** Their total time, in ms (overlapping waits add up). */
  waitMs: number;
  /** Per kind, in order of first use. */
  kinds: Record<string, JobIOKind>;
}

const round = (n: number): number => Math.round(n * 10) / 10;

/**
 * The IO summary of a greenlet (normally a dead job greenlet).
 * @example
 * import { spawn, sleep } from 'greenio';
 * import { ioSummary } from 'greenio/bullmq';
 * const g = spawn(() => sleep(20));
 * await g.join();
 * console.log(ioSummary(g).kinds.sleep?.count); // 1
 */
export function ioSummary(greenlet: Greenlet): JobIOSummary {
  if (greenlet === null || typeof greenlet !== 'object' || !('io' in greenlet)) throw new TypeError(expected('greenlet', 'a Greenlet', greenlet));
  const kinds: Record<string, JobIOKind> = {};
  let ops = 0;
  let waitMs = 0;
  for (const row of ioOf(greenlet)) {
    kinds[row.kind.name] = { count: row.count, ms: round(row.totalMs), maxMs: round(row.maxMs) };
    ops += row.count;
    waitMs += row.totalMs;
  }
  return { ops, waitMs: round(waitMs), kinds };
}

/** The prefix of the job log line that carries the summary. */
export const IO_LOG_PREFIX = 'greenio io: ';

/**
 * The job log line for a summary: `greenio io: 3 ops, 41.2 ms waiting; http.request 1
 * (40.1 ms)...`, followed by the summary as JSON so tools can read it back
 * (`parseIOLog`).
 * @example
 * import { formatIOLog } from 'greenio/bullmq';
 * console.log(formatIOLog({ ops: 1, waitMs: 20, kinds: { sleep: { count: 1, ms: 20, maxMs: 20 } } }));
 * // greenio io: 1 ops, 20 ms waiting; sleep 1 (20 ms) {"ops":1,...}
 */
export function formatIOLog(summary: JobIOSummary): string {
  const parts = Object.entries(summary.kinds).map(([k, v]) => `${k} ${v.count} (${v.ms} ms)`);
  const human = `${summary.ops} ops, ${summary.waitMs} ms waiting${parts.length > 0 ? `; ${parts.join(', ')}` : ''}`;
  return `${IO_LOG_PREFIX}${human} ${JSON.stringify(summary)}`;
}

/**
 * Read a summary back from a job's log lines (`queue.getJobLogs(id)`): the last
 * `greenio io:` line (one per attempt), or undefined if there is none.
 * @example
 * import { parseIOLog } from 'greenio/bullmq';
 * // const { logs } = await queue.getJobLogs(jobId);
 * const logs = ['greenio io: 0 ops, 0 ms waiting {"ops":0,"waitMs":0,"kinds":{}}'];
 * console.log(parseIOLog(logs)?.ops); // 0
 */
export function parseIOLog(logs: readonly string[]): JobIOSummary | undefined {
  if (!Array.isArray(logs)) throw new TypeError(expected('logs', 'an array of log lines', logs));
  for (let i = logs.length - 1; i >= 0; i--) {
    const line = logs[i];
    if (typeof line !== 'string' || !line.startsWith(IO_LOG_PREFIX)) continue;
    const at = line.indexOf(' {');
    if (at < 0) continue;
    try {
      return JSON.parse(line.slice(at + 1)) as JobIOSummary;
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Whether BullMQ deletes `job` as it completes: its own `removeOnComplete`, else the
 * worker's, read as BullMQ's `getKeepJobs` does (`true`, `0` or `{ count: 0 }`): its log
 * line would be deleted with it by the next command, so none is written. @internal
 */
export function removedOnComplete(job: Job, workerKeep: unknown): boolean {
  const own = (job.opts as { removeOnComplete?: unknown }).removeOnComplete;
  if (own === undefined) return countZero(workerKeep);
  if (typeof own === 'object') return countZero(own);
  return typeof own === 'number' ? own === 0 : own === true;
}

const countZero = (keep: unknown): boolean => keep !== null && typeof keep === 'object' && (keep as { count?: unknown }).count === 0;
