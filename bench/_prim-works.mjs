// The in-memory primitive workloads of issue 18 for the plain .mjs harnesses (_prim-ab.mjs,
// _prim-count.mjs), and the raw promise queue and channel that queue-pingpong.ts measures
// greenio against (types in _prim-works.d.mts). Plain JavaScript, so every Node runs it
// without tsx. Limit: a work runs `n` ops and checks nothing but what its loops need.
import { AsyncLocalStorage } from 'node:async_hooks';

const DONE = Promise.resolve();

/** A growable ring buffer (Array#shift would make an unbounded queue quadratic). */
class Ring {
  buf = new Array(16).fill(undefined);
  head = 0;
  length = 0;
  push(x) {
    if (this.length === this.buf.length) {
      const next = new Array(this.buf.length * 2).fill(undefined);
      for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.length++) % this.buf.length] = x;
  }
  shift() {
    if (this.length === 0) return undefined;
    const x = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return x;
  }
}

/** What a careful hand-written promise queue costs, nothing more: `max` 0 is unbounded. */
export class RawQueue {
  items = new Ring();
  getters = new Ring();
  putters = new Ring();
  constructor(max) {
    this.max = max;
  }
  put(item) {
    const g = this.getters.shift();
    if (g !== undefined) {
      g(item);
      return DONE;
    }
    if (this.max === 0 || this.items.length < this.max) {
      this.items.push(item);
      return DONE;
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

/** The raw rendezvous channel: a put waits for a getter, a get for a putter. */
export class RawChannel {
  getters = new Ring();
  putters = new Ring();
  put(item) {
    const g = this.getters.shift();
    if (g !== undefined) {
      g(item);
      return DONE;
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

const task = async (i) => i * 2;
const tick = () => new Promise((r) => setImmediate(r));

/**
 * The raw works: `raw` (plain async functions), `floor` (each side or task in its own
 * AsyncLocalStorage.run), `dfloor` (spawn only: the floor's task started a reaction later,
 * as spawn starts a greenlet). Each work takes its op count.
 */
export function rawWorks(mode) {
  const als = new AsyncLocalStorage();
  const run = mode === 'raw' ? (fn) => fn() : (fn) => als.run({}, fn);
  const deferred = (i) => DONE.then(() => task(i));
  const start = mode === 'dfloor' ? (i) => als.run(i, deferred, i) : mode === 'floor' ? (i) => als.run(i, task, i) : task;
  return {
    spawn: async (n) => {
      const ps = new Array(n);
      for (let i = 0; i < n; i++) ps[i] = start(i);
      await Promise.all(ps);
    },
    chan: async (n) => {
      const ch = new RawChannel();
      await Promise.all([run(async () => { for (let i = 0; i < n; i++) await ch.put(i); }), run(async () => { for (let i = 0; i < n; i++) await ch.get(); })]);
    },
    rt: async (n) => {
      const a = new RawQueue(1);
      const b = new RawQueue(1);
      await Promise.all([
        run(async () => { for (let i = 0; i < n; i++) { await a.put(i); await b.get(); } }),
        run(async () => { for (let i = 0; i < n; i++) await b.put(await a.get()); }),
      ]);
    },
    wt: async (n) => {
      const cycle = async () => {
        const t = setTimeout(() => {}, 1000);
        await tick();
        clearTimeout(t);
      };
      for (let i = 0; i < n; i++) await run(cycle);
    },
    sleep: async (n) => {
      for (let i = 0; i < n; i++) await run(tick);
    },
    // 16 tasks each yielding a loop turn at a time (n yields in all), each in its own context.
    sleep16: async (n) => {
      const body = async () => { for (let i = 0; i < n >> 4; i++) await tick(); };
      await Promise.all(Array.from({ length: 16 }, () => run(body)));
    },
  };
}

/** The same works on greenio: `m` is a build's `src/index.js` module (dist/ or a copy). */
export function greenWorks(m) {
  const { spawn, joinAll, Channel, Queue, withTimeout, sleep } = m;
  return {
    spawn: async (n) => {
      const gs = new Array(n);
      for (let i = 0; i < n; i++) gs[i] = spawn(task, i);
      await joinAll(gs);
    },
    chan: async (n) => {
      const ch = new Channel();
      await joinAll([spawn(async () => { for (let i = 0; i < n; i++) await ch.put(i); }), spawn(async () => { for (let i = 0; i < n; i++) await ch.get(); })]);
    },
    rt: async (n) => {
      const a = new Queue(1);
      const b = new Queue(1);
      await joinAll([
        spawn(async () => { for (let i = 0; i < n; i++) { await a.put(i); await b.get(); } }),
        spawn(async () => { for (let i = 0; i < n; i++) await b.put(await a.get()); }),
      ]);
    },
    wt: async (n) => {
      const fn = () => sleep(0);
      for (let i = 0; i < n; i++) await withTimeout(1000, fn);
    },
    sleep: async (n) => {
      for (let i = 0; i < n; i++) await sleep(0);
    },
    // 16 greenlets each looping on sleep(0) (n sleeps in all): the op reuse of a woken sleep.
    sleep16: async (n) => {
      const body = async () => { for (let i = 0; i < n >> 4; i++) await sleep(0); };
      await joinAll(Array.from({ length: 16 }, () => spawn(body)));
    },
  };
}

/** The works of a target named on a harness's command line: raw, floor, dfloor, or a build directory. */
export async function worksFor(target) {
  if (target === 'raw' || target === 'floor' || target === 'dfloor') return rawWorks(target);
  const { pathToFileURL } = await import('node:url');
  const path = await import('node:path');
  return greenWorks(await import(pathToFileURL(path.resolve(target, 'src/index.js')).href));
}
