// spawn / joinAll under the patch: ten greenlets each read a file and make an HTTP request, serially then concurrently, run plainly and then with --import greenio/patch, which makes their waits visible and their IO cancellable.
//
// Run: node --import tsx examples/07-spawn-joinall-patched.ts                         (plain)
//      node --import tsx --import greenio/patch examples/07-spawn-joinall-patched.ts  (patched)
//
// Node's IO is already non-blocking, so greenlets overlap it either way: the patch
// does not make anything faster. What it adds is ownership. Every fs call, socket,
// timer and fetch is attributed to the greenlet that started it, so run-info can say
// who waits on what, and a Timeout or kill can abort the request for real. Without it,
// greenio sees a greenlet awaiting a promise it knows nothing about.
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Event, TimeoutError, formatRunInfo, joinAll, sleep, spawn, withTimeout } from 'greenio';
import { isModulePatched } from 'greenio/monkey';

const patched = isModulePatched('fs') && isModulePatched('fetch');
console.log(patched ? 'patched: greenio owns fs, net, timers and fetch' : 'not patched: run with --import greenio/patch to see the difference');

// A local server: /item/N answers after 100 ms, /slow after 1.5 s. It reports how each
// /slow request ended, to show whether a timed-out request really went away.
const slowEnded = new Event();
let slowEnding = '';
const server = createServer((req, res) => {
  const start = performance.now();
  if (req.url === '/slow') {
    res.on('close', () => {
      const ms = Math.round(performance.now() - start);
      slowEnding = res.writableEnded ? `answered in full after ${ms} ms` : `connection closed by the client after ${ms} ms, before any answer`;
      slowEnded.set();
    });
  }
  setTimeout(() => res.end(`answer to ${req.url}`), req.url === '/slow' ? 1500 : 100);
});
// Served from a greenlet of its own, so that (patched) its sockets and timers are listed
// under `server` in run-info, apart from the clients.
const serving = spawn(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'close');
});
serving.name = 'server';
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const dir = await mkdtemp(join(tmpdir(), 'greenio-07-'));
const ids = Array.from({ length: 10 }, (_, i) => i + 1);
for (const id of ids) await writeFile(join(dir, `item-${id}.txt`), `item ${id}\n`);

/** One unit of work: a file read, then an HTTP request. Ordinary Node code. */
async function work(id: number): Promise<number> {
  const note = await readFile(join(dir, `item-${id}.txt`), 'utf8');
  const response = await fetch(`${base}/item/${id}`);
  return note.length + (await response.text()).length;
}

// Serially: each request waits its 100 ms before the next one starts.
let start = performance.now();
for (const id of ids) await work(id);
const serialMs = performance.now() - start;

// Concurrently: ten greenlets, one per item, all waiting at the same time.
start = performance.now();
const greenlets = ids.map((id) => {
  const g = spawn(work, id);
  g.name = `item-${id}`; // names make run-info (and stack traces) readable
  return g;
});
await sleep(40); // let them get going: all ten are now waiting on the server
console.log(`\nrun-info while the ten greenlets wait:\n${formatRunInfo()}`);
await joinAll(greenlets, { raiseError: true });
const concurrentMs = performance.now() - start;

console.log(`serial:     ${serialMs.toFixed(0).padStart(5)} ms for ${ids.length} items`);
console.log(`concurrent: ${concurrentMs.toFixed(0).padStart(5)} ms for ${greenlets.filter((g) => g.successful()).length} items`);
console.log(`speed-up:   ${(serialMs / concurrentMs).toFixed(1)}x`);

// A request cut short: a 300 ms budget for a page that takes 1.5 s. withTimeout is on
// time either way. Under the patch the fetch is a greenio wait: its request is aborted
// and the server sees the connection closed. Without it, greenio cannot reach the
// fetch: it abandons the flow at the deadline (and says so once on stderr), while the
// request it could not see goes on to the end.
start = performance.now();
const slow = spawn(() => withTimeout(300, () => fetch(`${base}/slow`).then((r) => r.text())));
slow.name = 'slow-request';
const outcome = await slow.get().then(
  () => `finished after ${(performance.now() - start).toFixed(0)} ms: the timeout was late`,
  (e: unknown) => (e instanceof TimeoutError ? `timed out after ${(performance.now() - start).toFixed(0)} ms` : `failed: ${String(e)}`),
);
console.log(`\nslow request: ${outcome}`);
await slowEnded.wait(3000);
console.log(`slow request, as the server saw it: ${slowEnding || 'still open'}`);

server.close();
await serving.join();
await rm(dir, { recursive: true });
