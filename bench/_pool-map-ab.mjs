// In-process A/B of two greenio builds (copies of dist/) on bench/pool-map.ts's maps, beside
// p-map's floors, interleaved round by round in one process so a busy machine slows each
// alike: medians of CPU time per task (process.cpuUsage, user+system; GC counts). Supporting
// evidence only on a shared machine: instruction counts are _pool-map-count.mjs's.
//   node --expose-gc bench/_pool-map-ab.mjs <work> <dirA> <dirB> [rounds] [n]
// (work: unordered | ordered | map | spawn; GREENIO_SWITCH_INTERVAL as the run wants it).
import { poolWorks } from './_pool-map-count.mjs';

const [work, a, b, roundsArg, nArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 11);
const n = Number(nArg ?? 20000);
const floorOf = { unordered: 'floor', ordered: 'ordered', map: 'floor', spawn: 'spawn' };
const sides = {
  A: (await poolWorks(a))[work],
  B: (await poolWorks(b))[work],
  pmap: (await poolWorks('pmap'))[floorOf[work]],
};
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const times = { A: [], B: [], pmap: [] };
for (const k in sides) for (let i = 0; i < 2; i++) await sides[k](5000);
for (let r = 0; r < rounds; r++) {
  for (const k in sides) {
    globalThis.gc();
    const c0 = process.cpuUsage();
    await sides[k](n);
    const c = process.cpuUsage(c0);
    times[k].push((c.user + c.system) / n);
  }
}
const row = (k) => ({ side: k, us_per_task: +median(times[k]).toFixed(3), floor_over_this: +(median(times.pmap) / median(times[k])).toFixed(3) });
console.log(JSON.stringify({ node: process.version, work, n, rounds, a, b, rows: ['A', 'B', 'pmap'].map(row) }));
