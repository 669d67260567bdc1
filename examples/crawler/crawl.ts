// The crawler demo: crawl a local site of a few hundred pages with at most 20 greenlets at once, a time budget per page, and progress as it goes.
//
// Run: greenio run --report --trace crawl-trace.json examples/crawler/crawl.ts   (with NODE_OPTIONS='--import tsx')
//      node --import tsx examples/crawler/crawl.ts [ROOT_URL]                     (plain: no patch, no report)
//   or npm run demo, which does the first and turns the trace into timeline.html.
//
// The shape is gevent's classic crawler: a queue of URLs to visit (the frontier), a
// Pool that bounds how many pages are fetched at once (its spawn() waits for a free
// slot: back-pressure instead of thousands of sockets), and a Timeout per page. Each
// page is ordinary code (fetch, read, parse links) in its own greenlet. Under the patch
// (greenio run), greenio sees every fetch: the report and the timeline show who waited
// on what, and a Timeout aborts its request instead of waiting it out.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { JoinableQueue, Pool, Timeout, TimeoutError, getCurrent, sleep, spawn } from 'greenio';
import { isModulePatched } from 'greenio/monkey';

const CONCURRENCY = 20;
const PAGE_TIMEOUT_MS = 800;
const PROGRESS_EVERY_MS = 500;

// The site: the URL given, or the demo site (site.ts) in a child process of our own, so
// that its work does not mix with the crawler's in the report.
let root = process.argv[2];
let site: ReturnType<typeof fork> | undefined;
if (root === undefined) {
  site = fork(fileURLToPath(new URL('./site.ts', import.meta.url)));
  const [message] = (await once(site, 'message')) as [{ url: string }];
  root = message.url;
}
const origin = new URL(root).origin;
const patched = isModulePatched('fetch');
console.log(`crawling ${root} with ${CONCURRENCY} greenlets, ${PAGE_TIMEOUT_MS} ms per page`);
console.log(patched ? 'patched: a page over budget has its request aborted' : 'not patched: a Timeout cannot interrupt fetch (use greenio run)');

const count = { ok: 0, timedOut: 0, failed: 0, offsite: 0 };
const httpErrors = new Map<number, number>();
const problems: string[] = [];
const seen = new Set<string>([root]);
const frontier = new JoinableQueue<string>(); // URLs found and not yet crawled
frontier.putNowait(root);

/** Fetch one page, queue the links it has not seen, and always mark it done. */
async function crawlPage(url: string): Promise<void> {
  getCurrent().name = new URL(url).pathname; // names the greenlet's row in the report and lane in the timeline
  const timeout = Timeout.startNew(PAGE_TIMEOUT_MS);
  try {
    const response = await fetch(url);
    if (!response.ok) {
      httpErrors.set(response.status, (httpErrors.get(response.status) ?? 0) + 1);
      await response.body?.cancel(); // not reading it: release the connection
      return;
    }
    const html = await response.text();
    count.ok++;
    for (const [, href] of html.matchAll(/href="([^"]+)"/g)) {
      const link = new URL(href!, url);
      if (link.origin !== origin) count.offsite++;
      else if (!seen.has(link.href)) {
        seen.add(link.href);
        frontier.putNowait(link.href);
      }
    }
  } catch (e) {
    // Our own Timeout (not some outer one) means: this page took too long.
    if (e instanceof TimeoutError && e.timeout === timeout) {
      count.timedOut++;
      problems.push(`${url}: no answer within ${PAGE_TIMEOUT_MS} ms, request aborted`);
    } else {
      count.failed++;
      problems.push(`${url}: ${e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e)}`);
    }
  } finally {
    timeout.cancel();
    frontier.taskDone();
  }
}

const start = performance.now();
const elapsed = (): string => `${((performance.now() - start) / 1000).toFixed(1)} s`;
const pool = new Pool(CONCURRENCY);

const progress = spawn(async function progress() {
  for (;;) {
    await sleep(PROGRESS_EVERY_MS);
    const done = count.ok + count.timedOut + count.failed + [...httpErrors.values()].reduce((a, b) => a + b, 0);
    console.log(`progress ${elapsed().padStart(6)}: ${String(done).padStart(4)} pages done, ${String(pool.size).padStart(2)} in flight, ${frontier.qsize()} queued`);
  }
});
progress.name = 'progress';

// The crawl is over when every URL put in the frontier has been marked done; then the
// frontier is shut down, which ends the loop below.
spawn(async function finish() {
  await frontier.join();
  frontier.shutdown();
}).name = 'finish';
for await (const url of frontier) await pool.spawn(crawlPage, url); // waits for a free slot
await pool.join();
await progress.kill();

const errors = [...httpErrors].sort(([a], [b]) => a - b).map(([status, n]) => `${n} x HTTP ${status}`);
console.log(`\ncrawled ${seen.size} URLs in ${elapsed()}: ${count.ok} ok, ${errors.join(', ') || 'no HTTP errors'}, ${count.timedOut} timed out, ${count.failed} failed; ${count.offsite} off-site links skipped`);
for (const line of problems.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) console.log(`  ${line}`);

if (site !== undefined) {
  site.kill();
  await once(site, 'exit');
}
