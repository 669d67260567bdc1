// The price of resource tracking (holders of locks and semaphores, named primitives),
// of the wait-for graph (a cycle check at each contended acquire of a lock (not of a
// counting semaphore, which no cycle goes through) and at each join) and of
// leak watching (a WaitTarget per Event whose wait outlives a turn): Lock, BoundedSemaphore(10),
// Queue(1) and fresh-Event workloads. Run it on this tree and on a copy with the tracking
// taken out, and compare (issue 19's target: >= 0.9). On a loaded machine compare
// instruction counts rather than times: bench/_resources-ab.ts's SIDE mode under
// `valgrind --tool=callgrind` at two cycle counts after the same warm-up, the difference
// of the two totals divided by the difference of cycles (see its header; node
// --single-threaded, and its JavaScript and builtins counted apart from the collector's
// and compiler's work, which land unevenly in the difference: README "Inspecting a live process").
// Against the tree the issue was filed on (f490064, before any tracking), the same loads run
// from bench/_resources-then.ts with ROOT naming either tree's src/ (driver: _resources-then.mjs).
import { spawn } from '../src/greenlet.js';
import { BoundedSemaphore, Lock } from '../src/lock.js';
import { Queue } from '../src/queue.js';
import { Event } from '../src/event.js';
import { sleep } from '../src/sleep.js';
import { joinAll } from '../src/wait.js';
import { defineWorkload, timeIt, type Metrics } from './lib.js';
import { lockCycles, queueItems, type Sem } from './_resource-loads.js';

const CYCLES = Number(process.env.CYCLES ?? 100_000);
const G = 100;

const K = { spawn, joinAll, sleep };

async function cycles(make: () => Sem, yieldInside: boolean): Promise<Metrics> {
  const ms = await timeIt(async () => lockCycles(K, make(), CYCLES, G, yieldInside));
  return { cycles_per_s: CYCLES / (ms / 1000), ms };
}

async function queue(): Promise<Metrics> {
  const M = CYCLES * 2;
  const ms = await timeIt(async () => queueItems(K, new Queue<number | null>(1), M));
  return { cycles_per_s: M / (ms / 1000), ms };
}

// A fresh Event per cycle, waited on and set within the turn: its wait names the Event
// itself, and no WaitTarget (a WeakRef and a FinalizationRegistry cell) is made for it
// (one is made only for a wait still parked at the next immediate).
async function freshEvents(): Promise<Metrics> {
  const ms = await timeIt(async () => {
    await spawn(async () => {
      for (let i = 0; i < CYCLES; i++) {
        const ev = new Event();
        const p = ev.wait();
        ev.set();
        await p;
      }
    }).join();
  });
  return { cycles_per_s: CYCLES / (ms / 1000), ms };
}

export default defineWorkload({
  name: 'resources',
  description: `${CYCLES} acquire/release cycles by ${G} greenlets (Lock, BoundedSemaphore(10)), ${CYCLES * 2} items through Queue(1), ${CYCLES} fresh Events waited on and set; per second`,
  variants: {
    lock_contended: () => cycles(() => new Lock(), true),
    lock_uncontended: () => cycles(() => new Lock(), false),
    semaphore_contended: () => cycles(() => new BoundedSemaphore(10), true),
    semaphore_uncontended: () => cycles(() => new BoundedSemaphore(10), false),
    queue1: () => queue(),
    event_fresh: () => freshEvents(),
  },
});
