// In-process A/B for issue 19's tracking (run by hand, not a workload): bench/resources.ts's
// loads on greenio's Lock, BoundedSemaphore(10), Queue(1) and fresh Events, alternating with
// bare copies of them as they were before any tracking (no holders, no wait-for graph, no
// WaitTarget: the wait names the primitive itself, under a kind outside the graph), all in
// one process so a busy machine slows each alike; medians, ratios as tracked / bare.
// Run: node --expose-gc --import tsx bench/_resources-ab.ts [load ...]   (ROUNDS=9 CYCLES=100000)
// Times on a loaded machine swing 2x between runs: prefer the SIDE instruction counts below
// (README "Inspecting a live process" has the command; run once without valgrind first, so
// tsx's transpile cache is warm and its compiling stays out of the counts).
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import * as hub from '../src/hub/index.js';
import { NO_BLOCK, ParkedList, parkedHandler, parseWait, type OpHandler, type Parked, type QueueWaitOptions } from '../src/hub/index.js';
import { BoundedSemaphore, Event, Lock, Queue, joinAll, sleep, spawn } from '../src/index.js';
import { gc, median } from './lib.js';
import { lockCycles, queueItems, type Sem } from './_resource-loads.js';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const CYCLES = Number(process.env.CYCLES ?? 100_000);
const G = 100;
const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
const RESOLVED = Promise.resolve();
const K_BARE = hub.kind('bench.bare.acquire'); // not an edge kind: no deadlock check
const BARE_WAIT: OpHandler<boolean> = parkedHandler((op) => op.resolve(false));

// greenio's Semaphore/BoundedSemaphore/Lock as they were before tracking (c80b884^).
class BareSemaphore {
  #counter: number;
  readonly #waiters = new ParkedList();
  constructor(n: number) {
    this.#counter = n;
  }
  get counter(): number {
    return this.#counter;
  }
  acquire(options?: { block?: boolean; timeout?: number }): Promise<boolean> {
    const ms = parseWait(options);
    if (this.#counter > 0) {
      this.#counter--;
      return TRUE;
    }
    if (ms === NO_BLOCK) return FALSE;
    return hub.wait<boolean>(K_BARE, this, BARE_WAIT, this.#waiters, ms);
  }
  release(): void {
    const op = this.#waiters.shiftOp<boolean>();
    if (op !== null) op.resolve(true);
    else this.#counter++;
  }
  describe(): string {
    return 'BareSemaphore';
  }
}
class BareBounded extends BareSemaphore {
  readonly #initial: number;
  constructor(n: number) {
    super(n);
    this.#initial = n;
  }
  override release(): void {
    if (this.counter >= this.#initial) throw new Error('released too many times');
    super.release();
  }
}

// A Queue whose waits name the queue itself (no WaitTarget), as before tracking.
const { GET_WAIT, PUT_WAIT } = hub;
const K_GET = hub.kind('queue.get');
const K_PUT = hub.kind('queue.put');
class BareQueue<T> extends Queue<T> {
  override get(options?: QueueWaitOptions): Promise<T> {
    const ms = options === undefined ? undefined : parseWait(options);
    if (this._store.length > 0) return Promise.resolve(this._take());
    if (this._shut) return Promise.reject(new Error('shut'));
    if (ms === NO_BLOCK) return Promise.reject(new Error('empty'));
    return hub.wait<T>(K_GET, this, GET_WAIT as OpHandler<T>, undefined, ms);
  }
  override put(item: T, options?: QueueWaitOptions): Promise<void> {
    const ms = options === undefined ? undefined : parseWait(options);
    if (this._shut) return Promise.reject(new Error('shut'));
    if (this._getters.live > 0 && this._handOff(item)) return RESOLVED;
    if (this._max === 0 || this._store.length < this._max) {
      this._store.push(item);
      this._tasks++;
      return RESOLVED;
    }
    if (ms === NO_BLOCK) return Promise.reject(new Error('full'));
    return hub.wait<void>(K_PUT, this, PUT_WAIT, item, ms);
  }
}

const K_EV = hub.kind('event.wait');
class BareEvent {
  #flag = false;
  readonly #waiters = new ParkedList();
  wait(): Promise<boolean> {
    if (this.#flag) return TRUE;
    return hub.wait<boolean>(K_EV, this, BARE_WAIT, this.#waiters);
  }
  set(): void {
    this.#flag = true;
    this.#waiters.drain(wake, this);
  }
  describe(): string {
    return 'BareEvent';
  }
}
function wake(item: Parked): void {
  (item as hub.AnyOp).resolve(true);
}

const K = { spawn, joinAll, sleep };
async function cycles(make: () => Sem, yieldInside: boolean): Promise<number> {
  const lock = make();
  const t0 = performance.now();
  await lockCycles(K, lock, cyclesNow, G, yieldInside);
  return cyclesNow / ((performance.now() - t0) / 1000);
}

async function queue(make: () => Queue<number | null>): Promise<number> {
  const q = make();
  const m = cyclesNow * 2;
  const t0 = performance.now();
  await queueItems(K, q, m);
  return m / ((performance.now() - t0) / 1000);
}

async function events(make: () => { wait(): Promise<boolean>; set(): void }): Promise<number> {
  const t0 = performance.now();
  await spawn(async () => {
    for (let i = 0; i < cyclesNow; i++) {
      const ev = make();
      const p = ev.wait();
      ev.set();
      await p;
    }
  }).join();
  return cyclesNow / ((performance.now() - t0) / 1000);
}

const loads: Record<string, [() => Promise<number>, () => Promise<number>]> = {
  lock_uncontended: [() => cycles(() => new Lock(), false), () => cycles(() => new BareBounded(1), false)],
  lock_contended: [() => cycles(() => new Lock(), true), () => cycles(() => new BareBounded(1), true)],
  semaphore_uncontended: [() => cycles(() => new BoundedSemaphore(10), false), () => cycles(() => new BareBounded(10), false)],
  semaphore_contended: [() => cycles(() => new BoundedSemaphore(10), true), () => cycles(() => new BareBounded(10), true)],
  queue1: [() => queue(() => new Queue<number | null>(1)), () => queue(() => new BareQueue<number | null>(1))],
  event_fresh: [() => events(() => new Event()), () => events(() => new BareEvent())],
};

// NOEDGE=1: without the wait-for graph's check (to see its share of the cost).
if (process.env.NOEDGE === '1') hub.setEdgeHook(null);
// SIDE=tracked|bare: run one side alone (warm-up and ROUNDS rounds), for instruction
// counts: `valgrind --tool=callgrind` at two CYCLES, the difference over the difference.
// The warm-up is the same whatever CYCLES (WARM rounds of WARM_CYCLES, a collection, SETTLE
// more rounds), so the difference of two runs holds steady-state cycles only: warming up
// CYCLES-sized rounds put up to a third of TurboFan's compiling and more collections into
// the difference. Run node with --single-threaded there: compiling and marking then happen
// at the same points in every run, not whenever a background thread gets to them.
const side = process.env.SIDE;
const WARM = Number(process.env.WARM ?? 2);
const SETTLE = Number(process.env.SETTLE ?? 3);
const WARM_CYCLES = Number(process.env.WARM_CYCLES ?? 20_000);
const only = process.argv.slice(2);
let cyclesNow = CYCLES;
for (const [name, [tracked, bare]] of Object.entries(loads)) {
  if (only.length > 0 && !only.includes(name)) continue;
  if (side !== undefined) {
    const f = side === 'bare' ? bare : tracked;
    cyclesNow = WARM_CYCLES;
    for (let r = 0; r < WARM; r++) await f();
    gc();
    // That collection deoptimizes the code that embedded the warm-up's objects ("embedded
    // weak objects cleared"); SETTLE more rounds let TurboFan recompile it before the counted
    // rounds: with one, a recompile of `release` or `wait` still fell into a 50,000-cycle run
    // and not into a 10,000-cycle one, and the difference counted it (up to 6,000 a cycle).
    for (let r = 0; r < SETTLE; r++) await f();
    cyclesNow = CYCLES;
    for (let r = 0; r < ROUNDS; r++) await f();
    continue;
  }
  const t: number[] = [];
  const b: number[] = [];
  await tracked();
  await bare(); // warm both
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so neither always follows a collection of the other's garbage.
    const order = r % 2 === 0 ? [tracked, bare] : [bare, tracked];
    for (const f of order) {
      gc();
      (f === tracked ? t : b).push(await f());
    }
  }
  const ratios = t.map((x, i) => x / b[i]!);
  console.log(JSON.stringify({ load: name, node: process.version, tracked_per_s: Math.round(median(t)), bare_per_s: Math.round(median(b)), ratio: Math.round(median(ratios) * 1000) / 1000 }));
}
