// Event: clients wait for a server to be listening before they connect, and a watcher pauses and resumes producers as the number of open workers crosses a limit.
//
// Run: node --import tsx examples/04-event.ts
//
// An Event is a flag greenlets wait on. set() wakes every waiter (in the order they
// began waiting) and never switches; clear() makes later wait() calls block again. It
// replaces "retry until the port answers" loops and ad-hoc pause/resume flags.
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { Event, Group, Queue, joinAll, sleep, spawn } from 'greenio';

// ---- 1. Nobody connects before the server is ready --------------------------------
const listening = new Event();
let port = 0;

const server = createServer((socket) => socket.end('hello\n'));
const serverGreenlet = spawn(async () => {
  await sleep(50); // start-up work (config, warm caches...): the clients must not guess
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  console.log(`server listening on 127.0.0.1:${port}`);
  listening.set(); // wakes all three clients; it does not run them here
});

const clients = [1, 2, 3].map((n) =>
  spawn(async () => {
    console.log(`client ${n} waiting`);
    await listening.wait();
    const socket = createConnection(port, '127.0.0.1');
    socket.setEncoding('utf8');
    const [greeting] = (await once(socket, 'data')) as [string];
    console.log(`client ${n} connected, got ${JSON.stringify(greeting)}`);
    socket.destroy();
  }),
);

await joinAll([serverGreenlet, ...clients], { raiseError: true });
server.close();

// ---- 2. Back-pressure: pause producers while too many workers are open --------------
// Producers wait on `room` before each job; a watcher owns the flag and is the only one
// to set()/clear() it, from the count of open workers, with a gap between the two
// limits so it does not flap on every job.
// Between a resume and the next pause each producer starts at most one job, so with
// two producers the count never passes RESUME_AT + 2 = PAUSE_AT.
const PAUSE_AT = 4;
const RESUME_AT = 2;
const room = new Event();
room.set();
const counts = new Queue<number>(); // every change of the count, in order
let open = 0;
let peak = 0;
let done = 0;
const workers = new Group(); // to wait for the last ones at the end

function changed(delta: number): void {
  open += delta;
  peak = Math.max(peak, open);
  counts.putNowait(open);
}

const watcher = spawn(async () => {
  for await (const n of counts) {
    if (n >= PAUSE_AT && room.isSet()) {
      room.clear();
      console.log(`watcher: ${n} workers open (>= ${PAUSE_AT}): producers pause`);
    } else if (n <= RESUME_AT && !room.isSet()) {
      room.set();
      console.log(`watcher: ${n} workers open (<= ${RESUME_AT}): producers resume`);
    }
  }
});

async function worker(ms: number): Promise<void> {
  try {
    await sleep(ms); // the job itself
  } finally {
    done++;
    changed(-1);
  }
}

const producers = ['P1', 'P2'].map((name) =>
  spawn(async () => {
    for (let job = 1; job <= 6; job++) {
      await sleep(5); // making the job takes a moment
      // Check the flag right before acting, with no wait in between: a flag checked
      // before a wait may have been cleared by the time the wait returns.
      await room.wait(); // returns at once while the flag is set
      changed(+1);
      workers.spawn(worker, 40 + 10 * job);
    }
    console.log(`producer ${name}: made 6 jobs`);
  }),
);

await joinAll(producers);
await workers.join();
counts.shutdown(); // ends the watcher's loop once it has read every change
await watcher.join();
console.log(`jobs done: ${done}, peak open workers: ${peak} (limit ${PAUSE_AT})`);
