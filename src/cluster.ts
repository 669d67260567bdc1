/**
 * Multi-process hubs: `runWorkers(n, script)` runs `n` copies of a server script through
 * `node:cluster`, each process with its own hub, all sharing the ports they listen on;
 * a worker that dies is replaced, until `maxRestarts` deaths within `restartWindow` ms
 * end a crash loop. Limits: only the primary process can run workers; what one worker
 * holds in memory (greenlets, pools, caches) is not seen by the others.
 */
import type { Cluster, Worker as ClusterWorker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as hub from './hub/index.js';
import type { AnyOp, OpHandler } from './hub/index.js';
import { originalClearTimeout, originalSetTimeout } from './internal/originals.js';
import { checkInt, checkMs, checkOptions, checkTimeout, expected } from './internal/validate.js';
import { GreenioError } from './errors.js';

const K_LISTENING = hub.kind('cluster.listening');
const K_WAIT = hub.kind('cluster.wait');

/** Options of `runWorkers`. */
export interface RunWorkersOptions {
  /** Arguments of the script (its `process.argv.slice(2)`). */
  args?: string[];
  /** Node options of the workers (default: the primary's `process.execArgv`). */
  execArgv?: string[];
  /** Variables added to the workers' environment. */
  env?: Record<string, string>;
  /** Deaths tolerated within `restartWindow` before giving up (default 10). */
  maxRestarts?: number;
  /** Ms over which deaths are counted (default 60,000). */
  restartWindow?: number;
  /** Pipe the workers' stdout/stderr to the primary's streams through `worker.process` (default false: inherited). */
  silent?: boolean;
}

/**
 * The primary's handle on its workers; see `runWorkers`.
 * @example
 * import { runWorkers } from 'greenio';
 * const group = runWorkers(2, './server.js', { maxRestarts: 5 });
 * await group.listening({ timeout: 10_000 });
 * console.log(group.pids.length, group.restarts); // 2 0
 * await group.stop();
 */
export class WorkerGroup {
  /** The number of workers it keeps running. */
  readonly count: number;
  readonly #settings: { exec: string; args: string[]; execArgv?: string[]; silent: boolean };
  readonly #env: Record<string, string>;
  readonly #maxRestarts: number;
  readonly #window: number;
  readonly #live = new Map<ClusterWorker, number>(); // worker -> index
  readonly #deaths: number[] = [];
  #restarts = 0;
  #address: AddressInfo | null = null;
  readonly #listening = new Set<ClusterWorker>();
  #state: 'running' | 'stopping' | 'stopped' = 'running';
  #failure: Error | null = null;
  #killer: ReturnType<typeof setTimeout> | null = null;
  /** @internal */ readonly _listenOps: AnyOp[] = [];
  /** @internal */ readonly _waitOps: AnyOp[] = [];
  /** @internal */ readonly _exitOps: AnyOp[] = [];

  /** @internal Use `runWorkers`. */
  constructor(count: number, exec: string, o: RunWorkersOptions) {
    this.count = count;
    // An `execArgv: undefined` would replace cluster's default (process.execArgv): leave it out.
    this.#settings = { exec, args: o.args ?? [], silent: o.silent === true, ...(o.execArgv === undefined ? {} : { execArgv: o.execArgv }) };
    this.#env = o.env ?? {};
    this.#maxRestarts = o.maxRestarts ?? 10;
    this.#window = o.restartWindow ?? 60_000;
    for (let i = 0; i < count; i++) this.#fork(i);
  }

  /** Pids of the live workers. */
  get pids(): number[] {
    return [...this.#live.keys()].map((w) => w.process.pid!).filter((p) => p !== undefined);
  }

  /** Workers started to replace dead ones, so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /** True once every worker has exited after `stop()` or a crash loop. */
  get stopped(): boolean {
    return this.#state === 'stopped';
  }

  /** The address workers listen on, once one of them listens. */
  get address(): AddressInfo | null {
    return this.#address;
  }

  /**
   * Resolve to the listening address once every live worker listens (a hub wait; with
   * `timeout`, a `TimeoutError` after that many ms).
   */
  listening(options?: { timeout?: number }): Promise<AddressInfo> {
    const ms = checkTimeout('timeout', checkOptions('options', options).timeout);
    if (this.#allListening()) return Promise.resolve(this.#address!);
    return hub.wait<AddressInfo>(K_LISTENING, this.count, LISTENING, this, ms);
  }

  /**
   * Wait until the group is stopped: resolves after `stop()`, rejects with a
   * `GreenioError` (code `GREENIO_RESTART_LIMIT`) when a crash loop stopped it.
   */
  wait(): Promise<void> {
    if (this.#state === 'stopped') return this.#failure === null ? Promise.resolve() : Promise.reject(this.#failure);
    return hub.wait<void>(K_WAIT, this.count, WAIT, this);
  }

  /**
   * Stop every worker gracefully (cluster's `disconnect()`: each closes its servers and
   * exits once its connections are done), then SIGKILL those still alive after `timeout`
   * ms (default 5000). Resolves once all have exited; none is replaced from then on.
   */
  stop(timeout?: number): Promise<void> {
    this.#beginStop(timeout === undefined ? 5000 : checkTimeout('timeout', timeout));
    if (this.#state === 'stopped') return Promise.resolve();
    return hub.wait<void>(K_WAIT, this.count, EXITS, this);
  }

  // Not tied to a caller: a greenlet killed while it waits in stop() leaves the stop going.
  #beginStop(ms: number | undefined): void {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    for (const w of this.#live.keys()) {
      // cluster's graceful stop: the worker closes its servers (a StreamServer then stops
      // as with stop()) and exits once its connections are done and nothing else runs.
      if (w.isConnected()) w.disconnect();
    }
    if (ms !== undefined) {
      this.#killer = originalSetTimeout(() => {
        for (const w of this.#live.keys()) w.process.kill('SIGKILL');
      }, ms);
    }
    if (this.#live.size === 0) this.#stopped();
  }

  #fork(index: number): void {
    const cluster = clusterModule();
    // cluster's settings are process-wide: set ours right before each fork.
    cluster.setupPrimary(this.#settings);
    const w = hub.outside(() => cluster.fork({ ...this.#env, GREENIO_WORKER_INDEX: String(index) }));
    this.#live.set(w, index);
    w.on('listening', (address: AddressInfo) => {
      this.#address ??= address;
      this.#listening.add(w);
      if (this.#allListening()) for (const op of this._listenOps.splice(0)) op.resolve(this.#address);
    });
    w.on('error', () => {}); // an IPC error precedes an exit, which is handled below
    w.on('exit', (code: number | null, signal: string | null) => this.#onExit(w, code, signal));
  }

  #allListening(): boolean {
    if (this.#address === null || this.#live.size < this.count) return false;
    for (const w of this.#live.keys()) if (!this.#listening.has(w)) return false;
    return true;
  }

  #onExit(w: ClusterWorker, code: number | null, signal: string | null): void {
    const index = this.#live.get(w)!;
    this.#live.delete(w);
    this.#listening.delete(w);
    if (this.#state === 'running') {
      const now = performance.now();
      this.#deaths.push(now);
      while (this.#deaths.length > 0 && now - this.#deaths[0]! > this.#window) this.#deaths.shift();
      if (this.#deaths.length > this.#maxRestarts) {
        const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
        this.#failure = new GreenioError(
          `worker ${index} ${how}; ${this.#deaths.length} workers died within ${this.#window} ms (maxRestarts ${this.#maxRestarts}): giving up`,
          'GREENIO_RESTART_LIMIT',
        );
        this.#beginStop(5000);
      } else {
        this.#restarts++;
        this.#fork(index);
      }
    }
    if (this.#live.size === 0 && this.#state === 'stopping') this.#stopped();
  }

  #stopped(): void {
    this.#state = 'stopped';
    if (this.#killer !== null) originalClearTimeout(this.#killer);
    this.#killer = null;
    for (const op of this._exitOps.splice(0)) op.resolve(undefined);
    for (const op of this._waitOps.splice(0)) {
      if (this.#failure === null) op.resolve(undefined);
      else op.reject(this.#failure);
    }
    for (const op of this._listenOps.splice(0)) op.reject(this.#failure ?? new GreenioError('the workers were stopped', 'GREENIO_STOPPED'));
  }

  toString(): string {
    return `<WorkerGroup ${this.#live.size}/${this.count} ${this.#state}, ${this.#restarts} restart(s)>`;
  }
}

// Loaded on first use: importing greenio must not load cluster (it changes process state).
function clusterModule(): Cluster {
  return process.getBuiltinModule('node:cluster') as unknown as Cluster;
}

function listHandler(pick: (g: WorkerGroup) => AnyOp[]): OpHandler<unknown> {
  return {
    start(op) {
      pick(op.data as WorkerGroup).push(op);
    },
    cancel(op) {
      const q = pick(op.data as WorkerGroup);
      const i = q.indexOf(op);
      if (i >= 0) q.splice(i, 1);
    },
  };
}
const LISTENING = listHandler((g) => g._listenOps) as OpHandler<AddressInfo>;
const WAIT = listHandler((g) => g._waitOps) as OpHandler<void>;
const EXITS = listHandler((g) => g._exitOps) as OpHandler<void>;

/**
 * Run `count` worker processes of `script` through `node:cluster`, each with its own
 * hub; servers they start (a `StreamServer`, `http`) share their listening ports, the
 * primary handing connections round-robin. A worker that dies is replaced; once more
 * than `maxRestarts` die within `restartWindow` ms, the group stops and `wait()` rejects.
 * Call it in the primary process only.
 * @example
 * import { runWorkers } from 'greenio';
 * const group = runWorkers(2, new URL('./server.js', import.meta.url));
 * console.log((await group.listening()).port);
 * process.once('SIGINT', () => void group.stop());
 * await group.wait();
 */
export function runWorkers(count: number, script: string | URL, options?: RunWorkersOptions): WorkerGroup {
  checkInt('count', count, 1);
  let exec: string;
  if (script instanceof URL) exec = fileURLToPath(script);
  else if (typeof script === 'string' && script !== '') exec = script.startsWith('file:') ? fileURLToPath(script) : script;
  else throw new TypeError(expected('script', 'a path or a file URL', script));
  const o = checkOptions('options', options) as RunWorkersOptions;
  for (const k of ['args', 'execArgv'] as const) {
    const v = o[k];
    if (v !== undefined && (!Array.isArray(v) || !v.every((a) => typeof a === 'string'))) throw new TypeError(expected(k, 'an array of strings', v));
  }
  if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null)) throw new TypeError(expected('env', 'an object of strings', o.env));
  if (o.maxRestarts !== undefined) checkInt('maxRestarts', o.maxRestarts, 0);
  if (o.restartWindow !== undefined) checkMs('restartWindow', o.restartWindow);
  const cluster = clusterModule();
  if (!cluster.isPrimary) throw new GreenioError('runWorkers() runs in the primary process; this is a cluster worker', 'GREENIO_NOT_PRIMARY');
  return new WorkerGroup(count, exec, o);
}
