// Generator coroutines: two CPU-bound counters run one after the other, then interleaved by a tiny round-robin scheduler over generators: switching without IO makes CPU work no faster, only slower.
//
// Run: node --import tsx examples/05-generator-coroutines.ts
//
// Coroutines (generators here, greenlets in greenio) share one thread. They pay off when
// a task would otherwise sit idle waiting for IO: the waiting overlaps. Pure computation
// has nothing to overlap, so taking turns only adds the cost of every switch. For CPU
// work, use more cores: ThreadPool or ProcessPool (examples 01, 02 and 08).

const N = 2_000_000;

/** Sum the numbers below `n` that are multiples of 3 or 5, in one go. */
function count(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) if (i % 3 === 0 || i % 5 === 0) sum += i;
  return sum;
}

/** The same work as a coroutine: it gives the thread back after every step. */
function* countSteps(n: number): Generator<void, number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0 || i % 5 === 0) sum += i;
    yield; // a switch point: the scheduler may run someone else now
  }
  return sum;
}

let switches = 0;

/** Round-robin: resume each unfinished coroutine in turn until all have returned. */
function runAll(tasks: Array<Generator<void, number>>): number[] {
  const results: number[] = new Array<number>(tasks.length);
  const ready = tasks.map((task, index) => ({ task, index }));
  while (ready.length > 0) {
    const current = ready.shift()!;
    const step = current.task.next();
    switches++;
    if (step.done) results[current.index] = step.value;
    else ready.push(current); // back of the line: the next one gets a turn
  }
  return results;
}

function timed<T>(label: string, fn: () => T): [T, number] {
  const start = performance.now();
  const result = fn();
  const ms = performance.now() - start;
  console.log(`${label.padEnd(12)} ${ms.toFixed(1).padStart(7)} ms  result ${JSON.stringify(result)}`);
  return [result, ms];
}

count(1000); // warm the JIT a little, so the first timing is not the compiler's
const [serial, serialMs] = timed('serial', () => [count(N), count(N)]);
const [interleaved, interleavedMs] = timed('interleaved', () => runAll([countSteps(N), countSteps(N)]));

if (JSON.stringify(serial) !== JSON.stringify(interleaved)) throw new Error('the two ways disagree');
console.log(`switches: ${switches.toLocaleString('en-US')} (one per step of work)`);
console.log(`interleaved / serial: ${(interleavedMs / serialMs).toFixed(1)}x the time for the same work`);
