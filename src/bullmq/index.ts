/**
 * `greenio/bullmq`: greenlet workers on BullMQ (Redis), the `celery -P gevent` of Node.
 * `GreenWorker` runs each job in its own greenlet; `greenio worker` (see cli.ts) runs
 * several processes of them. The producer side is BullMQ's own `Queue`. Needs `bullmq`
 * (an optional peer dependency of greenio) and the Redis client BullMQ uses (`ioredis`).
 * Importing it loads `bullmq` and nothing else happens: no connection, no timer.
 */
export { GreenWorker, JobCancelledError, type GreenProcessor, type GreenWorkerOptions, type GreenWorkerCloseOptions } from './worker.js';
export { ioSummary, formatIOLog, parseIOLog, IO_LOG_PREFIX, type JobIOSummary, type JobIOKind } from './io-summary.js';
export { workerCommand, parseWorkerArgs, WORKER_HELP, type WorkerCommandOptions } from './cli.js';
