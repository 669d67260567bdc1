// A worker with a callback: one worker_threads Worker runs a task and hands its result to a callback, then the same in two lines with ThreadPool.
//
// Run: node --import tsx examples/02-worker-callback.ts
//
// The plain pattern costs a thread per task and all the plumbing below: start-up, the
// message, the error, the exit, and remembering which of them already answered. A
// pool keeps its threads warm and gives each task a Future; addDoneCallback is the
// same callback, without the plumbing.
import { Worker } from 'node:worker_threads';
import { Event, ThreadPool } from 'greenio';

// CPU work to hand off. Flat on purpose: it travels as source text (toString()), so
// it may use only its argument and globals.
function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

type Callback<T> = (error: Error | null, result?: T) => void;

/** Run `task(arg)` on a new thread; call `callback` exactly once with its outcome. */
function runInThread<T>(task: (arg: number) => T, arg: number, callback: Callback<T>): void {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     parentPort.postMessage((${task.toString()})(workerData));`,
    { eval: true, workerData: arg },
  );
  // 'message', 'error' and 'exit' can each fire; the callback must hear only the first.
  let answered = false;
  const answer = (error: Error | null, result?: T): void => {
    if (answered) return;
    answered = true;
    callback(error, result);
  };
  worker.once('message', (result: T) => answer(null, result));
  worker.once('error', (error) => answer(error));
  worker.once('exit', (code) => answer(new Error(`worker exited with code ${code} before answering`)));
}

const LIMIT = 200_000;

// 1. By hand. The callback is where the result lands; an Event lets this (main)
//    greenlet wait for it the way it waits for anything else.
console.log(`worker: counting primes below ${LIMIT} on a new thread`);
const answered = new Event();
runInThread(countPrimes, LIMIT, (error, count) => {
  if (error) console.log(`worker: failed: ${error.message}`);
  else console.log(`worker: callback got ${count} primes`);
  answered.set();
});
console.log('worker: runInThread returned at once; the callback comes later');
await answered.wait();

// 2. The same with a pool: submit returns a Future at once, the done callback gets it
//    when the result arrives (result() rethrows a task's error as a RemoteError).
const pool = new ThreadPool({ size: 1 });
pool.submit(countPrimes, LIMIT).addDoneCallback(async (f) => console.log(`pool:   callback got ${await f.result()} primes`));
console.log('pool:   submit returned at once; the callback comes later');

// close() waits for the task to finish, then stops the thread so the process can exit.
await pool.close();
console.log('pool:   closed');
