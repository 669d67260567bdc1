// Queue kinds: the same items through Queue (FIFO), LifoQueue and PriorityQueue, the TypeError for items that cannot be ordered, and the compare function that fixes it.
//
// Run: node --import tsx examples/03-queue-kinds.ts
//
// The three classes share one interface (put/get, the *Nowait forms, timeouts, async
// iteration); only the order in which get() hands items back differs. So the choice is
// a one-word change: FIFO for fairness, LIFO for "freshest first" (or cache-warm work),
// priority for "most urgent first".
import { LifoQueue, PriorityQueue, Queue } from 'greenio';

// [priority, item]: a tuple, compared element by element as Python compares tuples.
type Job = [priority: number, name: string];
const jobs: Job[] = [
  [3, 'write report'],
  [1, 'fix outage'],
  [2, 'review PR'],
  [1, 'answer pager'], // same priority as 'fix outage': the names break the tie
];

/** Put every job, then take them all back out: the order is the queue's policy. */
function drain(queue: Queue<Job>): string {
  for (const job of jobs) queue.putNowait(job); // unbounded: never full, never waits
  const out: string[] = [];
  while (!queue.empty()) out.push(queue.getNowait().join(':'));
  return out.join(', ');
}

console.log(`put order:     ${jobs.map((j) => j.join(':')).join(', ')}`);
console.log(`Queue:         ${drain(new Queue<Job>())}`);
console.log(`LifoQueue:     ${drain(new LifoQueue<Job>())}`);
console.log(`PriorityQueue: ${drain(new PriorityQueue<Job>())}`);

// Items with no natural order. Objects have none (JavaScript would compare them as
// '[object Object]' and silently give nonsense); PriorityQueue refuses instead, at the
// put() that has to compare them, and leaves the queue unchanged.
interface Ticket {
  urgency: number;
  title: string;
}
const tickets: Ticket[] = [
  { urgency: 2, title: 'slow page' },
  { urgency: 5, title: 'site down' },
  { urgency: 1, title: 'typo' },
];

const unordered = new PriorityQueue<Ticket>();
try {
  for (const t of tickets) unordered.putNowait(t);
} catch (e) {
  console.log(`without compare: ${(e as Error).name}: ${(e as Error).message}`);
  console.log(`  the queue still holds ${unordered.qsize()} item(s): the failed put changed nothing`);
}

// A compare function (as for Array.prototype.sort: negative when a comes first) tells
// the queue how to order them. Here: most urgent first.
const byUrgency = new PriorityQueue<Ticket>(0, (a, b) => b.urgency - a.urgency);
for (const t of tickets) byUrgency.putNowait(t);
const served: string[] = [];
while (!byUrgency.empty()) served.push(byUrgency.getNowait().title);
console.log(`with compare:  ${served.join(', ')}`);
