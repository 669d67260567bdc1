/**
 * `GreenWorker`: a BullMQ worker whose jobs each run in their own greenlet, in a greenio
 * `Pool` of `concurrency` (Celery's `-P gevent -c N`). A job's timeout is a greenio
 * `Timeout`, a cancelled job (`cancelJob`) is a killed greenlet, and `close()` waits for
 * running jobs up to a limit, then kills them and puts their jobs back in the wait list.
 * BullMQ keeps its own rules: locks, stalled-job recovery, attempts and backoff.
 * Limits: aborting a job's IO for real needs the process patched (`--import
 * greenio/patch`); a job that never reaches a switch point (a CPU loop) cannot be
 * interrupted; greenlets a job spawns are its own business (kill them in `finally`).
 */
import { UnrecoverableError, WaitingError, Worker, type Job, type WorkerListener, type WorkerOptions } from 'bullmq';
import { GreenletExit } from '../errors.js';
import { TimeoutError } from '../timeout.js';
import { greenletToStart, type Greenlet } from '../greenlet.js';
import * as hub from '../hub/index.js';
import { isModulePatched } from '../monkey.js';
import { Pool } from '../pool/pool.js';
import { Timeout } from '../timeout.js';
import { originalClearTimeout, originalSetTimeout } from '../internal/originals.js';
import { definedAs } from '../internal/unreachable.js';
import { checkBoolean, checkFunction, checkInt, checkMs, checkOptions, checkTimeout, expected } from '../internal/validate.js';
import { formatIOLog, ioSummary, removedOnComplete } from './io-summary.js';

const K_READY = hub.kind('bullmq.ready');
const K_CLOSE = hub.kind('bullmq.close');
// After a job's Timeout fired, how long its greenlet may take to unwind before it is
// killed: a job suspended on a promise greenio cannot see never meets the Timeout.
const KILL_GRACE_MS = 1000;

/** A job processor: BullMQ's signature, run inside the job's greenlet. */
export type GreenProcessor<D = unknown, R = unknown> = (job: Job<D, R>, token?: string, signal?: AbortSignal) => R | Promise<R>;

/** Options of `GreenWorker`: BullMQ's `WorkerOptions`, plus greenio's. */
export interface GreenWorkerOptions<D = unknown, R = unknown> extends Omit<WorkerOptions, 'concurrency'> {
  /** Jobs (greenlets) running at once in this process. **Default:** `100`. */
  concurrency?: number;
  /**
   * Ms a job may run before its greenlet's `Timeout` fires: a number (a job's own
   * `opts.timeout`, when it is a number, takes precedence), or a function of the job.
   * **Default:** none.
   */
  timeout?: number | ((job: Job<D, R>) => number | undefined);
  /** Ms `close()` waits for running jobs before killing them. **Default:** `10000`. */
  closeTimeout?: number;
  /** Add each job's IO summary to its log (`job.log`, one line per attempt; none for a job that its completion deletes). **Default:** `true`. */
  ioLog?: boolean;
}

/** Options of `GreenWorker.close()`. */
export interface GreenWorkerCloseOptions {
  /** Ms to wait for running jobs before killing them. **Default:** the worker's `closeTimeout`. */
  timeout?: number;
}

/**
 * The error a job's greenlet is killed with when the job is cancelled through BullMQ
 * (`worker.cancelJob(id, reason)`). It is BullMQ's `UnrecoverableError`, so the job
 * fails without being retried; `reason` is the cancellation's reason.
 */
export class JobCancelledError extends UnrecoverableError {
  /** A stable code, as greenio's own errors have. */
  readonly code: 'GREENIO_JOB_CANCELLED' = 'GREENIO_JOB_CANCELLED';
  /** What `cancelJob` was given (the `AbortSignal`'s `reason`). */
  readonly reason: unknown;
  constructor(reason?: unknown) {
    const why = reason instanceof Error ? (reason.name === 'AbortError' ? '' : reason.message) : reason === undefined ? '' : String(reason);
    super(why === '' ? 'job cancelled' : `job cancelled: ${why}`);
    this.reason = reason;
  }
}

let warnedUnpatched = false;

/**
 * A BullMQ worker running each job in its own greenlet. Jobs are taken from Redis by
 * BullMQ's `Worker` (exposed as `bullmq`), at most `concurrency` at once; each runs as
 * greenlet `<queue>:<jobId>`, visible in `formatRunInfo()` and traces.
 * @example
 * import { GreenWorker } from 'greenio/bullmq';
 * const worker = new GreenWorker('crawl', async (job) => {
 *   const res = await fetch(job.data.url);        // aborted for real by a timeout or cancel
 *   await job.updateProgress(50);
 *   return { status: res.status, bytes: (await res.text()).length };
 * }, { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 500, timeout: 10_000 });
 * worker.on('failed', (job, err) => console.error(job?.id, err.message));
 * process.once('SIGTERM', () => void worker.close({ timeout: 5_000 }));
 */
export class GreenWorker<D = unknown, R = unknown> {
  /** The queue's name. */
  readonly name: string;
  /** The BullMQ worker underneath (events, `pause()`, `isRunning()`...). */
  readonly bullmq: Worker<D, R>;
  /** The pool of job greenlets (capacity `concurrency`). */
  readonly pool: Pool;
  /** Ms `close()` waits for running jobs by default. */
  readonly closeTimeout: number;
  // The job greenlets' body, named after the processor (run-info shows `crawl:17 (crawl)`).
  readonly #body: (job: Job<D, R>, token: string | undefined, signal: AbortSignal | undefined, timeout: Timeout | null) => Promise<R>;
  readonly #timeout: number | ((job: Job<D, R>) => number | undefined) | undefined;
  readonly #ioLog: boolean;
  readonly #running = new Map<string, Greenlet>();
  #closing: Promise<void> | null = null;
  #killing = false;

  constructor(queueName: string, processor: GreenProcessor<D, R>, options: GreenWorkerOptions<D, R>) {
    if (typeof queueName !== 'string' || queueName === '') throw new TypeError(expected('queueName', 'a non-empty string', queueName));
    checkFunction('processor', processor);
    const o = checkOptions('options', options) as unknown as GreenWorkerOptions<D, R>;
    if (o.connection === undefined || o.connection === null) throw new TypeError(expected('options.connection', 'a BullMQ connection (options or a client)', o.connection));
    const { concurrency = 100, timeout, closeTimeout = 10_000, ioLog, ...bull } = o;
    checkInt('concurrency', concurrency, 1);
    if (typeof timeout === 'number') checkMs('timeout', timeout);
    else if (timeout !== undefined && typeof timeout !== 'function') throw new TypeError(expected('timeout', 'milliseconds or a function of the job', timeout));
    checkMs('closeTimeout', closeTimeout);
    this.name = queueName;
    this.closeTimeout = closeTimeout;
    this.#body = (job, token, signal, timeout) => runJob(processor, job, token, signal, timeout);
    Object.defineProperty(this.#body, 'name', { value: processor.name || 'processor' });
    definedAs(this.#body, processor); // run-info's "fn ... at" names the processor's file, not this one
    this.#timeout = timeout;
    this.#ioLog = checkBoolean('ioLog', ioLog, true);
    this.pool = new Pool(concurrency);
    if (!warnedUnpatched && !isModulePatched('net')) {
      warnedUnpatched = true;
      process.emitWarning(
        'GreenWorker runs in an unpatched process: job timeouts and cancellation interrupt the job greenlets, but cannot abort ' +
          'their sockets, timers or children. Run it under the patch (node --import greenio/patch, or greenio worker).',
        { type: 'GreenioWarning', code: 'GREENIO_BULLMQ_UNPATCHED' },
      );
    }
    // Three parameters: BullMQ then hands each job an AbortSignal (its cancellation API).
    const run = (job: Job<D, R>, token?: string, signal?: AbortSignal): Promise<R> => this.#process(job, token, signal);
    // BullMQ's connections, timers and loops belong to main, not to whoever constructed
    // the worker: a greenlet that made it may die without taking Redis down with it.
    this.bullmq = hub.outside(() => new Worker<D, R>(queueName, run, { ...bull, concurrency }));
  }

  /** Job greenlets running now. */
  get running(): number {
    return this.pool.size;
  }

  /** The greenlet running job `jobId` in this process, if any. */
  greenletOf(jobId: string): Greenlet | undefined {
    return this.#running.get(jobId);
  }

  /**
   * Cancel a job running in this process (BullMQ's `cancelJob`): its greenlet is killed
   * with a `JobCancelledError`, its IO aborted, its `finally` blocks run, and the job
   * fails without retry. Returns false if the job does not run here.
   */
  cancelJob(jobId: string, reason?: string): boolean {
    if (typeof jobId !== 'string') throw new TypeError(expected('jobId', 'a job id (string)', jobId));
    return this.bullmq.cancelJob(jobId, reason);
  }

  /** Resolve once connected to Redis (a hub wait; a `TimeoutError` after `timeout` ms). */
  waitUntilReady(options?: { timeout?: number }): Promise<void> {
    const ms = checkTimeout('timeout', checkOptions('options', options).timeout);
    const ready = this.bullmq.waitUntilReady();
    return hub.waitFor<void>(K_READY, this.name, (resolve, reject) => void ready.then(resolve, reject), ms);
  }

  /** Listen to a BullMQ worker event (`completed`, `failed`, `error`...). */
  on<U extends keyof WorkerListener<D, R>>(event: U, listener: WorkerListener<D, R>[U]): this {
    this.bullmq.on(event, listener);
    return this;
  }

  /** Listen to one occurrence of a BullMQ worker event. */
  once<U extends keyof WorkerListener<D, R>>(event: U, listener: WorkerListener<D, R>[U]): this {
    this.bullmq.once(event, listener);
    return this;
  }

  /** Stop listening. */
  off<U extends keyof WorkerListener<D, R>>(event: U, listener: WorkerListener<D, R>[U]): this {
    this.bullmq.off(event, listener);
    return this;
  }

  /**
   * Stop taking jobs, wait up to `timeout` ms for the running ones, then kill those left
   * (`GreenletExit`: their IO is aborted, their `finally` blocks run) and put their jobs
   * back in the wait list, attempts untouched, for any worker to take. Resolves once
   * BullMQ's worker is closed. Calling it again returns the same promise.
   */
  close(options?: GreenWorkerCloseOptions): Promise<void> {
    const t = checkTimeout('timeout', checkOptions('options', options).timeout);
    this.#closing ??= this.#close(t ?? this.closeTimeout);
    const closing = this.#closing;
    return hub.waitFor<void>(K_CLOSE, this.name, (resolve, reject) => void closing.then(resolve, reject));
  }

  async #close(ms: number): Promise<void> {
    const closed = hub.outside(() => this.bullmq.close());
    // Not tied to the caller: a greenlet killed while it waits in close() leaves it going.
    const killer = originalSetTimeout(() => {
      this.#killing = true;
      void this.pool.kill(undefined, { block: false });
    }, ms);
    try {
      await closed;
    } finally {
      originalClearTimeout(killer);
    }
  }

  #process(job: Job<D, R>, token: string | undefined, signal: AbortSignal | undefined): Promise<R> {
    if (!hub.jobTracing.hasSubscribers) return this.#run(job, token, signal, null);
    const ctx: hub.JobTraceContext = {
      kind: 'bullmq.job',
      queue: this.name,
      jobId: job.id ?? '',
      detail: job.name,
      attempt: job.attemptsMade + 1,
      job,
      greenlet: undefined,
      outcome: undefined,
    };
    return hub.jobTracing.tracePromise(() => this.#run(job, token, signal, ctx), ctx);
  }

  async #run(job: Job<D, R>, token: string | undefined, signal: AbortSignal | undefined, ctx: hub.JobTraceContext | null): Promise<R> {
    const ms = this.#timeoutOf(job);
    const timeout = ms === undefined ? null : new Timeout(ms);
    // Created and started here in #run's context (what BullMQ called the processor in).
    const g = greenletToStart(this.#body, job, token, signal, timeout) as Greenlet<R>;
    g.name = `${this.name}:${job.id}`;
    if (ctx !== null) ctx.greenlet = g;
    await this.pool.add(g);
    g.start();
    const id = job.id ?? '';
    this.#running.set(id, g);
    // A job that BullMQ started while close() was already killing: kill it too.
    if (this.#killing) void g.kill(undefined, { block: false });
    const onAbort = (): void => void g.kill(new JobCancelledError(signal!.reason), { block: false });
    signal?.addEventListener('abort', onAbort); // removed in the finally below: no `once` wrapper needed
    const backstop = timeout === null ? null : originalSetTimeout(killLate, ms! + KILL_GRACE_MS, g, timeout);
    try {
      // A hub wait (run-info shows main, BullMQ's processJob, waiting on the job's greenlet);
      // not a link, whose callback runs on a later batch in a context frame of its own.
      await g.join();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (backstop !== null) originalClearTimeout(backstop);
      this.#running.delete(id);
    }
    const e = g.exception;
    // A job whose completion removes it (keepJobs count 0) would lose the line with its
    // other keys in the very next command on this connection: it is not written (a Lua
    // call per job, a tenth of the worker's throughput in bench/bullmq.ts).
    if (this.#ioLog && !(e === undefined && !(g.value instanceof GreenletExit) && removedOnComplete(job, this.bullmq.opts.removeOnComplete))) {
      // Not awaited: it goes out before BullMQ's move to completed/failed on the same
      // connection, and a failure to log must not fail the job.
      job.log(formatIOLog(ioSummary(g))).catch((e: unknown) => this.bullmq.emit('error', e instanceof Error ? e : new Error(String(e))));
    }
    if (ctx !== null) ctx.outcome = e instanceof TimeoutError ? 'timedOut' : e instanceof JobCancelledError || g.value instanceof GreenletExit ? 'killed' : e !== undefined ? 'error' : 'ok';
    if (e !== undefined) throw e instanceof Error ? e : new Error(`job ${id} failed: ${String(e)}`);
    if (g.value instanceof GreenletExit) {
      // Killed (close(), or by hand): the job did not fail, its worker went away.
      if (token !== undefined) await job.moveToWait(token);
      throw new WaitingError();
    }
    return g.value as R;
  }

  #timeoutOf(job: Job<D, R>): number | undefined {
    const t = this.#timeout;
    if (typeof t === 'function') {
      const v = t(job);
      if (v !== undefined) checkMs('timeout(job)', v);
      return v;
    }
    const own = (job.opts as { timeout?: unknown }).timeout;
    if (typeof own === 'number' && own >= 0 && own !== Infinity) return own;
    return t;
  }

  toString(): string {
    return `<GreenWorker ${this.name} ${this.pool.size}/${this.pool.capacity}${this.#closing !== null ? ' closing' : ''}>`;
  }
}

// The job greenlet's body: the processor under the job's Timeout (started here, in the
// greenlet, so it interrupts the greenlet's own waits and the IO it opened).
async function runJob<D, R>(processor: GreenProcessor<D, R>, job: Job<D, R>, token: string | undefined, signal: AbortSignal | undefined, timeout: Timeout | null): Promise<R> {
  timeout?.start();
  try {
    return await processor(job, token, signal);
  } finally {
    timeout?.cancel();
  }
}

function killLate(g: Greenlet, timeout: Timeout): void {
  if (!g.dead) void g.kill(new TimeoutError(timeout), { block: false });
}
