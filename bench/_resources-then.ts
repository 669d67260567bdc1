// Issue 19's literal target, "≥ 0.9 of today's figures": the same lock, semaphore and queue
// workloads run against greenio's sources at ROOT, so one workload code measures this tree
// and the tree the issue was filed against (f490064, before any resource tracking, checked
// out as a git worktree). Run by hand, not a workload; one side per process (two trees' hubs
// in one process would share the workload's type feedback and slow each other).
//   ROOT=/tmp/old19/src node --expose-gc --import tsx bench/_resources-then.ts LOAD   (one side)
// SIDE=count: warm-up, a collection, SETTLE rounds, then ROUNDS counted rounds of CYCLES (for
// `valgrind --tool=callgrind` at two CYCLES, as bench/_resources-ab.ts). SIDE=cpu (default):
// the same, printing the CPU time (process.cpuUsage) per cycle of each counted round as JSON;
// bench/_resources-then.mjs alternates the two trees' processes and takes medians.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { gc, median } from './lib.js';
import { lockCycles, queueItems, type Q, type Sem, type Toolkit } from './_resource-loads.js';

interface Greenio extends Toolkit<unknown> {
  Lock: new () => Sem;
  BoundedSemaphore: new (n: number) => Sem;
  Queue: new (n: number) => Q;
}

const root = resolve(process.env.ROOT ?? 'src');
const g = (await import(pathToFileURL(`${root}/index.ts`).href)) as Greenio;
const N = 100;
let cyclesNow = 0;

const loads: Record<string, () => Promise<void>> = {
  lock_nosleep: () => lockCycles(g, new g.Lock(), cyclesNow, N, false),
  lock_sleep: () => lockCycles(g, new g.Lock(), cyclesNow, N, true),
  sem_nosleep: () => lockCycles(g, new g.BoundedSemaphore(10), cyclesNow, N, false),
  sem_sleep: () => lockCycles(g, new g.BoundedSemaphore(10), cyclesNow, N, true),
  // One cycle: an item through Queue(1) (bench/_resources-ab.ts's queue1 counts twice CYCLES items).
  queue1: () => queueItems(g, new g.Queue(1), cyclesNow),
};

const ROUNDS = Number(process.env.ROUNDS ?? 1);
const CYCLES = Number(process.env.CYCLES ?? 10_000);
const WARM = Number(process.env.WARM ?? 6);
const SETTLE = Number(process.env.SETTLE ?? 3);
const WARM_CYCLES = Number(process.env.WARM_CYCLES ?? 20_000);
const name = process.argv[2] ?? '';
const f = loads[name];
if (f === undefined) throw new RangeError(`Expected a load among ${Object.keys(loads).join(', ')}, got \`${name}\``);
// The warm-up does not depend on CYCLES, so two runs' difference holds steady-state cycles only.
cyclesNow = WARM_CYCLES;
for (let r = 0; r < WARM; r++) await f();
gc();
for (let r = 0; r < SETTLE; r++) await f();
cyclesNow = CYCLES;
const us: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const c0 = process.cpuUsage();
  await f();
  const c = process.cpuUsage(c0);
  us.push(((c.user + c.system) * 1000) / CYCLES); // ns per cycle
  if (process.env.VERBOSE === "1") console.error(Math.round(us[us.length - 1]!));
}
if (process.env.SIDE !== 'count') console.log(JSON.stringify({ load: name, root, node: process.version, ns_per_cycle: Math.round(median(us)) }));
