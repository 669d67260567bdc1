// What the SQL client benchmarks (clients-pg.ts, clients-mysql2.ts) share: N short
// queries at concurrency C over a pool of 20, unpatched, patched, patched with greenlet
// loops, and patched with the client's integration off; and, patched, kill-to-cancel
// latency. Throughput is the median of 5 rounds of N after 2 warm-up rounds (as the Redis
// rows). Each variant starts its own server. Not a workload itself (`_` prefix).
// With `withState`, two more variants hold STATE_MB first, as a program with some state does:
// V8 tenures mysql2's per-query objects once a process holds ~4 MB (bench/PROFILE.md, stop
// 12), which greenio's import and patchAll() pass and the bare unpatched loop does not.
import { defineWorkload, holdMegabytes, median, timeIt, type Metrics, type WorkloadSpec } from './lib.js';

const N = Number(process.env.N ?? 20_000);
const C = 50;
const RUNS = 5;
const STATE_MB = 8;
type Mode = 'unpatched' | 'patched' | 'greenlets' | 'plain_patch' | 'unpatched_state' | 'greenlets_state';

/** A pool of 20 of one client library, made after the patch (or not) is applied. */
export interface SqlPool {
  /** `SELECT <i> AS n` (as a parameter), returning n. */
  query(i: number): Promise<number>;
  /** One pooled connection, for the kill-to-cancel loop: a 10 s server sleep, and a short query. */
  connection(): Promise<{ sleep(): Promise<unknown>; ping(): Promise<unknown>; release(): void }>;
  end(): Promise<unknown>;
}

export interface SqlBench {
  name: string;
  description(n: number, c: number): string;
  /** The patch table's key for this client (turned off in plain_patch). */
  patchKey: 'pg' | 'mysql2';
  start(): Promise<{ config: { host: string; port: number; user: string; database: string }; stop(): Promise<void> }>;
  pool(config: { host: string; port: number; user: string; database: string }): Promise<SqlPool>;
  /** Add the variants and ratio of a program holding STATE_MB (see the header). */
  withState?: boolean;
}

async function run(b: SqlBench, mode: Mode): Promise<Metrics> {
  if (mode === 'unpatched_state' || mode === 'greenlets_state') holdMegabytes(STATE_MB);
  const server = await b.start();
  try {
    // plain_patch: Node's IO patched, this client's integration off (what the integration itself costs).
    if (mode !== 'unpatched' && mode !== 'unpatched_state') (await import('../src/monkey.js')).patchAll({ warnLate: false, ...(mode === 'plain_patch' ? { [b.patchKey]: false } : {}) });
    const pool = await b.pool(server.config);
    const { spawn, joinAll, sleep } = await import('../src/index.js');
    // One round: N queries by C loops. Measured as the Redis rows are: 2 rounds to warm up
    // (V8 tiers the client's and greenio's code up over the first ~10k queries; a single cold
    // round read 47 µs a query for mysql2 where the steady state is ~31), then the median of 5.
    let rounds = 0;
    const round = async (): Promise<void> => {
      rounds++;
      let next = 0;
      const loop = async (): Promise<void> => {
        while (next < N) {
          const i = next++;
          if ((await pool.query(i)) !== i) throw new Error('wrong row');
        }
      };
      if (mode === 'greenlets' || mode === 'greenlets_state') await joinAll(Array.from({ length: C }, () => spawn(loop)), { raiseError: true });
      else await Promise.all(Array.from({ length: C }, loop));
    };
    await round();
    await round();
    const cpu0 = process.cpuUsage();
    rounds = 0;
    const ms = await timeIt(round, RUNS, 0);
    const cpu = process.cpuUsage(cpu0);
    // Client CPU per query (over the timed rounds): what the patch costs, less swayed by a busy machine than ops/s.
    const out: Metrics = { ops_per_s: Math.round((N / ms) * 1000), client_cpu_us_per_op: Number(((cpu.user + cpu.system) / (N * rounds)).toFixed(1)) };
    if (mode === 'patched') {
      const conn = await pool.connection();
      const lat: number[] = [];
      for (let i = 0; i < 20; i++) {
        const g = spawn(() => conn.sleep());
        await sleep(30);
        const t = performance.now();
        g.kill(undefined, { block: false });
        await conn.ping();
        lat.push(performance.now() - t);
      }
      conn.release();
      out.kill_to_cancel_ms = Number(median(lat).toFixed(2));
    }
    await pool.end();
    return out;
  } finally {
    await server.stop();
  }
}

/** The workload of `b`: its four variants and the ratios against the 0.9 target. */
export function sqlWorkload(b: SqlBench): WorkloadSpec {
  return defineWorkload({
    name: b.name,
    description: b.description(N, C),
    variants: {
      unpatched: () => run(b, 'unpatched'),
      patched: () => run(b, 'patched'),
      greenlets: () => run(b, 'greenlets'),
      plain_patch: () => run(b, 'plain_patch'),
      ...(b.withState === true ? { unpatched_state: () => run(b, 'unpatched_state'), greenlets_state: () => run(b, 'greenlets_state') } : {}),
    },
    ratios: [
      { label: 'patched / unpatched', metric: 'ops_per_s', numerator: 'patched', denominator: 'unpatched', target: 0.9 },
      { label: 'greenlet loops / unpatched', metric: 'ops_per_s', numerator: 'greenlets', denominator: 'unpatched', target: 0.9 },
      { label: 'patched / patched without the integration', metric: 'ops_per_s', numerator: 'patched', denominator: 'plain_patch' },
      ...(b.withState === true
        ? [{ label: `greenlet loops / unpatched, each process holding ${STATE_MB} MB first (a program with state)`, metric: 'ops_per_s', numerator: 'greenlets_state', denominator: 'unpatched_state', target: 0.9 }]
        : []),
    ],
  });
}
