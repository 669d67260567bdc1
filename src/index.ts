/**
 * greenio: gevent's programming model for Node.js. The whole toolbox, with no side
 * effects on import (patching IO is `greenio/monkey` or the `greenio/patch` preload).
 */
export { Greenlet, spawn, spawnLater, getCurrent, kill, type KillOptions, type GetOptions } from './greenlet.js';
export { sleep, idle } from './sleep.js';
export { outside } from './outside.js';
export { joinAll, wait, iwait, killAll, type JoinAllOptions, type WaitOptions, type Waitable } from './wait.js';
export { Timeout, TimeoutError } from './timeout.js';
export { withTimeout, type WithTimeoutOptions } from './with-timeout.js';
export { Local } from './local.js';
export { Event } from './event.js';
export { AsyncResult } from './async-result.js';
export { Semaphore } from './semaphore.js';
export { BoundedSemaphore, Lock, type AcquireOptions, type LockOptions } from './lock.js';
export { RLock } from './rlock.js';
export {
  Queue,
  type QueueWaitOptions,
  type QueueOptions,
  type QueueShutdownOptions,
  type QueueJoinOptions,
  type PriorityCompare,
} from './queue.js';
export { JoinableQueue, LifoQueue, PriorityQueue, SimpleQueue } from './queue-family.js';
export { Channel } from './channel.js';
export { Group, Pool, type Spawned, type MapInput, type GroupOptions, type GroupJoinOptions, type PoolAddOptions, type WaitAvailableOptions } from './pool/pool.js';
// Greenlet's bases: public for its `id` only (their other members are greenio's own).
export type { Core, Flow } from './hub/index.js';
export { config, type Config, type SyncIOMode, type DeadlockMode } from './internal/config.js';
export * from './instrument/index.js';
export {
  GreenioError,
  GreenletExit,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  PoolClosedError,
  CancelledError,
  BlockingCallError,
  RemoteError,
  WorkerExitError,
  LoopExitError,
  DeadlockError,
  type DeadlockEdge,
} from './errors.js';
export { Future, type Transferable } from './workers/future.js';
export type { PoolSurface } from './workers/pool-surface.js';
export type { TaskPoolOptions } from './workers/task-pool.js';
export { ThreadPool, type ThreadPoolOptions, type ClosePoolOptions, type TaskFile } from './workers/threadpool.js';
export { ProcessPool, type ProcessPoolOptions } from './workers/processpool.js';
export { StreamServer, type StreamServerOptions, type StreamHandler, type RemoteAddress } from './server.js';
export { runWorkers, WorkerGroup, type RunWorkersOptions } from './cluster.js';
