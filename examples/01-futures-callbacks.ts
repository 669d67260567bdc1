// Futures and done callbacks: CPU work in a ThreadPool and a ProcessPool reports each result the moment it lands, while the main greenlet keeps working.
//
// Run: node --import tsx examples/01-futures-callbacks.ts
//
// `submit()` never waits: it queues the task and hands back a Future at once. A done
// callback runs in this process as soon as the result arrives, whether or not anyone
// awaits the future, so nobody has to sit in `await f.result()` to react to it. The
// main greenlet proves it is never blocked by ticking the whole time.
import { ProcessPool, ThreadPool, sleep, type Future } from 'greenio';

// The task is sent to the workers as source text and rebuilt there, so it must be
// self-contained: only its arguments and globals (no imports, no outer variables).
function burn(ms: number): string {
  const end = Date.now() + ms;
  let spins = 0;
  while (Date.now() < end) spins++; // never yields: real CPU work, off our thread
  return `${ms} ms of CPU in pid ${process.pid} (${spins} loop turns)`;
}

const t0 = performance.now();
const at = (): string => `${String(Math.round(performance.now() - t0)).padStart(5)} ms`;

const threads = new ThreadPool({ size: 2 });
const processes = new ProcessPool({ size: 2 });
console.log(`${at()}  main: pid ${process.pid}; threads share it, child processes do not`);

const jobs: Array<[string, Future<string>]> = [
  ['thread  #1', threads.submit(burn, 300)],
  ['thread  #2', threads.submit(burn, 700)],
  ['process #1', processes.submit(burn, 400)],
  ['process #2', processes.submit(burn, 800)],
];

let arrived = 0;
for (const [label, future] of jobs) {
  // The future is done when this runs, so result() settles at once; an async callback
  // is fine: greenio reports anything it throws instead of crashing the program.
  future.addDoneCallback(async (f) => {
    console.log(`${at()}  result  ${label}: ${await f.result()}`);
    arrived++;
  });
}
console.log(`${at()}  main: submitted ${jobs.length} tasks, not waiting for any of them`);

// The main greenlet's own work. Callbacks interleave with it; they never pre-empt it,
// they run whenever it waits (here, in sleep). Bounded, so a stuck pool cannot hang us.
for (let tick = 1; arrived < jobs.length && tick <= 300; tick++) {
  console.log(`${at()}  tick    main greenlet still working (${arrived}/${jobs.length} results)`);
  await sleep(100);
}

// close() lets queued work finish, then stops the threads and child processes, so the
// program exits on its own.
await Promise.all([threads.close(), processes.close()]);
console.log(`${at()}  done: ${arrived} results by callback, pools closed`);
