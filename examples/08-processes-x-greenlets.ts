// Processes × greenlets: an IO-bound job (HTTP requests to a slow local server) done serially, then by greenlets in one process, then by greenlets in each of several processes.
//
// Run: node --import tsx examples/08-processes-x-greenlets.ts
//
// Greenlets overlap the waiting: while one request waits for the server, the others
// proceed. But one process runs its greenlets on one core, so the CPU each request
// still costs (HTTP parsing, the work on each page) adds up there. A ProcessPool of
// N children, each running its own greenlets (one hub per process), spreads that CPU
// over N cores: the layout that scales IO-heavy work on a multi-core machine.
// (The serial layout is timed on a sample: waiting 20 ms 400 times in a row is slow.)
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { ProcessPool } from 'greenio';
import { fetchAll, fetchAndCount, type Tally } from './08-processes-x-greenlets.task.js';

const REQUESTS = 400;
const LATENCY_MS = 20; // the server's think time per request: the IO wait to overlap
const GREENLETS = 50; // in flight at once, per process
const PROCESSES = Math.max(2, Math.min(4, availableParallelism()));

// The slow server, on 127.0.0.1: every page answers after LATENCY_MS.
const page = `<html><body>${'lorem ipsum dolor sit amet '.repeat(1600)}</body></html>`;
const server = createServer((_req, res) => {
  setTimeout(() => res.end(page), LATENCY_MS);
});
// Idle keep-alive sockets stay open longer than any client keeps them (undici: 4 s), so
// a client never sends on a socket the server is closing (ECONNRESET on a busy machine).
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const urls = Array.from({ length: REQUESTS }, (_, i) => `http://127.0.0.1:${port}/page/${i}`);

interface Row {
  ms: number;
  pages: number;
  pids: number;
}

async function timed(run: () => Promise<Tally[]>): Promise<Row> {
  const start = performance.now();
  const tallies = await run();
  return {
    ms: performance.now() - start,
    pages: tallies.reduce((n, t) => n + t.pages, 0),
    pids: new Set(tallies.map((t) => t.pid)).size,
  };
}

// Start the children before timing: starting a Node process is a one-off cost that a
// long-running service pays once, not per job.
const taskFile = new URL('./08-processes-x-greenlets.task.ts', import.meta.url);
const pool = new ProcessPool({ size: PROCESSES });
const warm = await Promise.all(Array.from({ length: PROCESSES }, () => pool.apply<number>({ file: taskFile, name: 'warmUp' }, [urls[0], 200])));
console.log(`${REQUESTS} requests to a server that answers in ${LATENCY_MS} ms; ${new Set(warm).size} child processes ready`);

// Serially, every request waits its full latency before the next starts: measure a
// sample (the whole run would take ~10 s) and scale it.
const SAMPLE = 40;
const sample = await timed(async () => {
  let words = 0;
  for (const url of urls.slice(0, SAMPLE)) words += await fetchAndCount(url);
  return [{ pid: process.pid, pages: SAMPLE, words }];
});
const serial = { ms: (sample.ms * REQUESTS) / SAMPLE, pages: REQUESTS, pids: 1 };

// Greenlets: the same function, GREENLETS requests in flight at once, in this process.
const inOneProcess = (): Promise<Tally[]> => fetchAll(urls, GREENLETS).then((t) => [t]);

// Processes x greenlets: one slice of the urls per child, each fetched by that
// child's own greenlets; the parent only waits for the children's answers.
const slices = Array.from({ length: PROCESSES }, (_, i) => urls.filter((_, j) => j % PROCESSES === i));
const inProcesses = (): Promise<Tally[]> =>
  Promise.all(slices.map((slice) => pool.apply<Tally>({ file: taskFile, name: 'fetchAll' }, [slice, GREENLETS])));

// Best of three, alternating, so that a burst of load from elsewhere on the machine
// does not decide the comparison.
const best = (a: Row, b: Row): Row => (b.ms < a.ms ? b : a);
let greenlets = await timed(inOneProcess);
let processes = await timed(inProcesses);
for (let round = 2; round <= 3; round++) {
  greenlets = best(greenlets, await timed(inOneProcess));
  processes = best(processes, await timed(inProcesses));
}

const line = (label: string, r: Row, note = ''): void =>
  console.log(`${label.padEnd(32)} ${r.ms.toFixed(0).padStart(6)} ms  ${(serial.ms / r.ms).toFixed(1).padStart(5)}x  ${r.pages} pages in ${r.pids} process(es)${note}`);
console.log(`${'layout'.padEnd(32)} ${'time'.padStart(9)}  vs serial  (best of 3)`);
line('serial: 1 process, 1 at a time', serial, `  (${SAMPLE} measured, scaled)`);
line(`greenlets: 1 process x ${GREENLETS}`, greenlets);
line(`processes x greenlets: ${PROCESSES} x ${GREENLETS}`, processes);
// The server lives in this parent process and needs CPU too, so on a 2-core machine the
// gain of the last layout over the one before is modest; it grows with free cores.
console.log(`processes x greenlets vs greenlets in 1 process: ${(greenlets.ms / processes.ms).toFixed(1)}x`);

await pool.close();
server.close();
