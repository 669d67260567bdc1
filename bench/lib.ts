/**
 * The benchmark harness. A workload file calls `defineWorkload()` with named variants
 * (greenio and its baselines); `npm run bench` (scripts/bench.mjs) runs every variant
 * of every workload in its own fresh process, interleaved over several rounds, on Node
 * 24 and Node 20, and prints medians and ratios. Run one variant by hand with
 * `node --import tsx bench/<file>.ts --variant <name>`.
 */

/** Numbers a variant reports (throughputs, times, bytes). */
export type Metrics = Record<string, number>;

export interface Ratio {
  /** Label of the ratio in the table, e.g. `greenio / raw promises`. */
  label: string;
  metric: string;
  numerator: string;
  denominator: string;
  /** The target the issue sets for this ratio, if any (reported beside it). */
  target?: number;
}

export interface WorkloadSpec {
  name: string;
  description: string;
  variants: Record<string, () => Promise<Metrics>>;
  ratios?: Ratio[];
  /** Metrics of external references (Python gevent figures from ../shared/bench), for a ratio against them. */
  references?: Record<string, Metrics>;
  /** Extra node flags per variant (e.g. `--expose-gc`). */
  nodeArgs?: string[];
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
    run().then(
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

/** Median of a few timed runs after a warm-up; returns ms of the median run. */
export async function timeIt(fn: () => Promise<unknown> | unknown, runs = 5, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
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
