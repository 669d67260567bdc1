/**
 * The benchmark harness. A workload file calls `defineWorkload()` with named variants
 * (greenio and its baselines); `npm run bench` (scripts/bench.mjs) runs every variant
 * of every workload in its own fresh process, interleaved over several rounds, on Node
 * 26, 24 and 20, with the Python gevent anchors in the same rounds, and prints medians,
 * ratios and issue 18's goals. Run one variant by hand with
 * `node --import tsx bench/<file>.ts --variant <name>`.
 */

/** Numbers a variant reports (throughputs, times, bytes). */
export type Metrics = Record<string, number>;

export interface Ratio {
  /** Label of the ratio in the table, e.g. `greenio / raw promises`. */
  label: string;
  metric: string;
  numerator: string;
  /** The variant divided by; absent for a goal on the metric itself (µs per op, bytes). */
  denominator?: string;
  /** The target the issue sets for this ratio, if any (reported beside it). */
  target?: number;
  /** The target on Node 20, when the issue sets a lower one there. */
  target20?: number;
  /** The goal is a ceiling (`value <= target`), e.g. µs per op or bytes. */
  atMost?: boolean;
  /** The row of issue 18's table this ratio is (printed in the goals table, README headline). */
  goal?: string;
  /**
   * This ratio is the floor of the goal named: the same quantity for the least work any
   * implementation with the goal's guarantees must do (e.g. the raw code run in its own
   * `AsyncLocalStorage.run`). Give it the goal's `target`; where the floor misses it, the
   * goal is out of reach of any such implementation. Printed under the goal's row.
   */
  floorFor?: string;
}

/**
 * Python gevent anchors, measured in the same bench run: `script` of ../shared/bench/gevent
 * runs once per round under Debian's python3-gevent; `variants` names each anchor and maps
 * our metric to an expression over the script's JSON: `key`, `1e6/key`, `1000*key`, `N/key`.
 */
export interface GeventAnchor {
  script: string;
  env?: Record<string, string>;
  variants: Record<string, Record<string, string>>;
}

export interface WorkloadSpec {
  name: string;
  description: string;
  variants: Record<string, () => Promise<Metrics>>;
  ratios?: Ratio[];
  /** Fixed figures a ratio may use as denominator (e.g. 1024 bytes); never measured ones. */
  references?: Record<string, Metrics>;
  gevent?: GeventAnchor;
  /** Extra node flags per variant (e.g. `--expose-gc`). */
  nodeArgs?: string[];
}

const ballast: number[][] = [];
/**
 * BENCH_BALLAST_MB: the variant's process first holds that many MB of plain arrays, as a
 * program with some state does (bench/PROFILE.md, stop 12: V8 decides differently on
 * pretenuring and GC in a process that holds a few MB, and greenio's import alone holds
 * 2-3 MB that a bare unpatched variant does not). Off (0) by default.
 */
export function holdBallast(name = 'BENCH_BALLAST_MB'): void {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new RangeError(`${name} must be a number >= 0, got ${JSON.stringify(raw)}`);
  holdMegabytes(mb);
}

/** Hold about `mb` MB for the rest of the process, as a program with some state does. */
export function holdMegabytes(mb: number): void {
  // ~1 KB per 128-slot array of small integers.
  for (let i = 0; i < mb * 1000; i++) ballast.push(new Array<number>(128).fill(i));
}

/** Register a workload; when the file is run with `--variant`, run it and print its JSON. */
export function defineWorkload(spec: WorkloadSpec): WorkloadSpec {
  const argv = process.argv;
  const i = argv.indexOf('--variant');
  if (argv.includes('--describe')) {
    const { variants, ...rest } = spec;
    console.log(JSON.stringify({ ...rest, variants: Object.keys(variants) }));
  } else if (i >= 0) {
    const name = argv[i + 1]!;
    const run = spec.variants[name];
    if (!run) throw new Error(`unknown variant ${name}; have ${Object.keys(spec.variants).join(', ')}`);
    holdBallast();
    const profiled = process.env.BENCH_CPU_PROF ? profile(process.env.BENCH_CPU_PROF, run) : run();
    profiled.then(
      (m) => {
        console.log(JSON.stringify({ workload: spec.name, variant: name, node: process.version, ...m }));
        process.exit(0);
      },
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  }
  return spec;
}

/**
 * Run `fn` under the V8 CPU profiler and write the profile to `path` (scripts/bench-profile.mjs
 * sets BENCH_CPU_PROF): only the variant's own run is sampled, not the startup (tsx's compile).
 */
async function profile(path: string, fn: () => Promise<Metrics>): Promise<Metrics> {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const s = new Session();
  s.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => s.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: Number(process.env.PROF_INTERVAL_US ?? 250) });
  await post('Profiler.start');
  const m = await fn();
  const { profile: p } = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(path, JSON.stringify(p));
  s.disconnect();
  return m;
}

/**
 * The clock timeIt reads: wall time, or with BENCH_CLOCK=cpu the main thread's CPU time
 * (Node >= 23.9), which a busy machine barely moves: the regression guard's ratios use it.
 */
const threadCpu = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
const clock: () => number =
  process.env.BENCH_CLOCK === 'cpu' && threadCpu
    ? () => {
        const u = threadCpu.call(process);
        return (u.user + u.system) / 1000;
      }
    : () => performance.now();

// BENCH_WARMUP / BENCH_RUNS raise every workload's warm-up and run counts (the regression
// guard's short forms set them): a short run measured while V8 is still tiering the loop up
// varies 3x between processes; after ~10 warm-up runs it settles.
function countFromEnv(name: string): number {
  const v = process.env[name];
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return n;
}
const minWarmup = countFromEnv('BENCH_WARMUP');
const minRuns = countFromEnv('BENCH_RUNS');

/** Median of a few timed runs after a warm-up; returns ms of the median run. */
export async function timeIt(fn: () => Promise<unknown> | unknown, runs = 5, warmup = 2): Promise<number> {
  runs = Math.max(runs, minRuns);
  warmup = Math.max(warmup, minWarmup);
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = clock();
    await fn();
    times.push(clock() - t0);
    // Let timers and GC settle between runs.
    await new Promise((r) => setTimeout(r, 5));
  }
  return median(times);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Force a full GC when run with --expose-gc (memory workloads). */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
