/**
 * The client integrations, as rows of the patch table: per `patchAll()` option name,
 * the third-party patches that make a client library's operations greenlet ops (an HTTP
 * request, a query, a Redis command), owned by the greenlet that issues them and
 * cancelled on the server where the protocol allows; and the task queues shared by
 * greenlets (p-queue, Bottleneck), whose tasks run in their adders' greenlets. Each row
 * is applied by the one `require-in-the-middle` hook when the program loads that client,
 * never before, so a program that does not use a client pays nothing for its row.
 */
import type { ModulePatch } from './patch.js';
import { pgPatches } from './pg.js';
import { mysql2Patches } from './mysql2.js';
import { undiciPatches } from './undici.js';
import { ioredisPatches } from './ioredis.js';
import { redisPatches } from './redis.js';
import { postgresPatches } from './postgres.js';
import { bottleneckPatches, pQueuePatches } from './task-queues.js';

// Order does not matter between rows: each applies to its own client's files only.
export const clientPatches = {
  undici: undiciPatches,
  pg: pgPatches,
  mysql2: mysql2Patches,
  ioredis: ioredisPatches,
  redis: redisPatches,
  postgres: postgresPatches,
  'p-queue': pQueuePatches,
  bottleneck: bottleneckPatches,
} as const satisfies Record<ClientName, readonly ModulePatch[]>;

/**
 * The `patchAll()` option names of the client integrations. Written out, not derived from
 * the table (a public type must not name it); `satisfies` above keeps the two in step.
 */
export type ClientName = 'undici' | 'pg' | 'mysql2' | 'ioredis' | 'redis' | 'postgres' | 'p-queue' | 'bottleneck';

/** The client integrations' option names, in the table's order. */
export const clientNames = Object.keys(clientPatches) as ClientName[];
