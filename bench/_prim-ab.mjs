// In-process A/B of the in-memory primitives (issue 18, PRIM18/CHAN18): copies of dist/ (or a
// floor) interleaved in one process, round after round; prints the median CPU ns per op of each
// (process.cpuUsage: a busy machine's descheduling is not counted, GC is). Floors are variants
// too: `raw`, `floor` (the raw work, each task in its own AsyncLocalStorage.run), `dfloor`
// (spawn only: the floor's task started a microtask later, as spawn starts one). Works: _prim-works.mjs.
//   [CLOCK=wall] node --expose-gc bench/_prim-ab.mjs <spawn|chan|rt|wt|sleep|sleep16> <rounds> <N> <dir|raw|floor|dfloor>...
// e.g. `cp -r dist /tmp/base` before a change, then `... wt 15 20000 /tmp/base dist floor raw`.
import { worksFor } from './_prim-works.mjs';

const [work, roundsArg, nArg, ...targets] = process.argv.slice(2);
const ROUNDS = Number(roundsArg ?? 11);
const N = Number(nArg ?? 20000);

const runners = [];
for (const t of targets) runners.push({ name: t, r: await worksFor(t) });
// CLOCK=wall: elapsed time instead (what the bench's ratios use). process.cpuUsage() also
// counts V8's parallel scavenger threads: a raw promise hand-off, which allocates more than
// greenio's (that reuses its ops), spends 1.3-2x its wall time in CPU, greenio's ~1.1x, so
// the clocks give different ratios (Channel, Node 26: 0.63-0.89 by CPU, 0.51-0.55 by wall;
// bench/PROFILE.md, "2026-12-07").
const cpu = process.env.CLOCK === 'wall'
  ? () => Number(process.hrtime.bigint())
  : () => {
      const u = process.cpuUsage();
      return (u.user + u.system) * 1000;
    };
const times = runners.map(() => []);
for (let round = -2; round < ROUNDS; round++) {
  // Rotate the order each round so no variant always runs first (or right after a GC).
  for (let j = 0; j < runners.length; j++) {
    const k = (j + Math.max(round, 0)) % runners.length;
    globalThis.gc?.();
    const t0 = cpu();
    await runners[k].r[work](N);
    const ns = (cpu() - t0) / N;
    if (round >= 0) times[k].push(ns);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const base = med(times[0]);
for (let k = 0; k < runners.length; k++) {
  const m = med(times[k]);
  console.log(`${work} ${process.version} ${runners[k].name.padEnd(16)} ${m.toFixed(0).padStart(7)} ns/op  ${(base / m).toFixed(2)}x of ${runners[0].name}'s speed`);
}
