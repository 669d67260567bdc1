// In-process A/B of the in-memory primitives (issue 18, PRIM18): copies of dist/ (or a floor)
// interleaved in one process, round after round; prints the median CPU ns per op of each
// (process.cpuUsage: a busy machine's descheduling is not counted, GC is). Floors are
// variants too: `raw`, `floor` (the raw work, each task in its own AsyncLocalStorage.run),
// `dfloor` (spawn only: the floor's task started a microtask later, as spawn starts one).
//   node --expose-gc bench/_prim-ab.mjs <spawn|chan|rt|wt|sleep> <rounds> <N> <dir|raw|floor|dfloor>...
// e.g. `cp -r dist /tmp/base` before a change, then `... wt 15 20000 /tmp/base dist floor raw`.
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [work, roundsArg, nArg, ...targets] = process.argv.slice(2);
const ROUNDS = Number(roundsArg ?? 11);
const N = Number(nArg ?? 20000);

const tick = () => new Promise((r) => setImmediate(r));
const task = async (i) => i * 2;

// The raw promise channel of bench/queue-pingpong.ts, cut to what a hand-off needs.
class RawChannel {
  getters = [];
  putters = [];
  put(item) {
    const g = this.getters.shift();
    if (g !== undefined) {
      g(item);
      return Promise.resolve();
    }
    return new Promise((done) => this.putters.push({ item, done }));
  }
  get() {
    const p = this.putters.shift();
    if (p !== undefined) {
      p.done();
      return Promise.resolve(p.item);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }
}
class RawQueue1 {
  items = [];
  getters = [];
  putters = [];
  put(item) {
    const g = this.getters.shift();
    if (g !== undefined) {
      g(item);
      return Promise.resolve();
    }
    if (this.items.length < 1) {
      this.items.push(item);
      return Promise.resolve();
    }
    return new Promise((done) => this.putters.push({ item, done }));
  }
  get() {
    if (this.items.length > 0) {
      const x = this.items.shift();
      const p = this.putters.shift();
      if (p !== undefined) {
        this.items.push(p.item);
        p.done();
      }
      return Promise.resolve(x);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }
}

const RESOLVED = Promise.resolve();
// A task that starts later, as a greenlet does (spawn never runs fn at once), in its own context.
const deferred = (i) => RESOLVED.then(() => task(i));

function rawRunner(scoped, defer = false) {
  const als = new AsyncLocalStorage();
  const run = scoped ? (fn) => als.run({}, fn) : (fn) => fn();
  return {
    spawn: async () => {
      const ps = new Array(N);
      for (let i = 0; i < N; i++) ps[i] = defer ? als.run(i, deferred, i) : scoped ? als.run(i, task, i) : task(i);
      await Promise.all(ps);
    },
    chan: async () => {
      const ch = new RawChannel();
      await Promise.all([run(async () => { for (let i = 0; i < N; i++) await ch.put(i); }), run(async () => { for (let i = 0; i < N; i++) await ch.get(); })]);
    },
    rt: async () => {
      const a = new RawQueue1();
      const b = new RawQueue1();
      await Promise.all([
        run(async () => { for (let i = 0; i < N; i++) { await a.put(i); await b.get(); } }),
        run(async () => { for (let i = 0; i < N; i++) await b.put(await a.get()); }),
      ]);
    },
    wt: async () => {
      const cycle = async () => {
        const t = setTimeout(() => {}, 1000);
        await tick();
        clearTimeout(t);
      };
      for (let i = 0; i < N; i++) await run(cycle);
    },
    sleep: async () => {
      for (let i = 0; i < N; i++) await run(tick);
    },
  };
}

async function greenRunner(dir) {
  const m = await import(pathToFileURL(path.resolve(dir, 'src/index.js')).href);
  const { spawn, joinAll, Channel, Queue, withTimeout, sleep } = m;
  return {
    spawn: async () => {
      const gs = new Array(N);
      for (let i = 0; i < N; i++) gs[i] = spawn(task, i);
      await joinAll(gs);
    },
    chan: async () => {
      const ch = new Channel();
      await joinAll([spawn(async () => { for (let i = 0; i < N; i++) await ch.put(i); }), spawn(async () => { for (let i = 0; i < N; i++) await ch.get(); })]);
    },
    rt: async () => {
      const a = new Queue(1);
      const b = new Queue(1);
      await joinAll([
        spawn(async () => { for (let i = 0; i < N; i++) { await a.put(i); await b.get(); } }),
        spawn(async () => { for (let i = 0; i < N; i++) await b.put(await a.get()); }),
      ]);
    },
    wt: async () => {
      const fn = () => sleep(0);
      for (let i = 0; i < N; i++) await withTimeout(1000, fn);
    },
    sleep: async () => {
      for (let i = 0; i < N; i++) await sleep(0);
    },
  };
}

const runners = [];
for (const t of targets) runners.push({ name: t, r: t === 'raw' ? rawRunner(false) : t === 'floor' ? rawRunner(true) : t === 'dfloor' ? rawRunner(true, true) : await greenRunner(t) });
const cpu = () => {
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
    await runners[k].r[work]();
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
