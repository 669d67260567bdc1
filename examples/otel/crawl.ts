// The crawler with OpenTelemetry: each page's greenlet is a span under the crawl's span, printed by the SDK's console exporter.
//
// Run: node --import tsx examples/otel/crawl.ts [ROOT_URL]   (default: the crawler demo's site, started here)
//
// greenio/otel gives each greenlet a span whose parent is the span active where it was
// spawned: pages are spawned by the main greenlet inside the `crawl` span, so each page's
// span is a child of `crawl`, named after the page (the greenlet names itself), with its
// outcome and wait totals as attributes; the progress greenlet's span records its kill.
// Register greenio after the SDK: the greenlet's span then is the active span inside it,
// so spans of other instrumentations (HTTP, a database) made there nest under it.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JoinableQueue, Pool, Timeout, getCurrent, sleep, spawn } from 'greenio';
import { registerGreenioInstrumentation } from 'greenio/otel';

const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
const unregister = registerGreenioInstrumentation();

let root = process.argv[2];
let site: ReturnType<typeof fork> | undefined;
if (root === undefined) {
  site = fork(fileURLToPath(new URL('../crawler/site.ts', import.meta.url)));
  root = ((await once(site, 'message')) as [{ url: string }])[0].url;
}
const origin = new URL(root).origin;
const seen = new Set<string>([root]);
const frontier = new JoinableQueue<string>();
frontier.putNowait(root);
const count = { ok: 0, failed: 0 };

async function crawlPage(url: string): Promise<void> {
  getCurrent().name = new URL(url).pathname; // the span's name
  const timeout = Timeout.startNew(2000);
  try {
    const response = await fetch(url);
    const html = await response.text();
    if (response.ok) count.ok++;
    else count.failed++;
    for (const [, href] of html.matchAll(/href="([^"]+)"/g)) {
      const link = new URL(href!, url);
      if (link.origin === origin && !seen.has(link.href)) {
        seen.add(link.href);
        frontier.putNowait(link.href);
      }
    }
  } catch {
    count.failed++;
  } finally {
    timeout.cancel();
    frontier.taskDone();
  }
}

await trace.getTracer('example').startActiveSpan('crawl', async (span) => {
  const pool = new Pool(8);
  const progress = spawn(async function progress() {
    for (;;) await sleep(200);
  });
  progress.name = 'progress';
  spawn(async function finish() {
    await frontier.join();
    frontier.shutdown();
  }).name = 'finish';
  for await (const url of frontier) await pool.spawn(crawlPage, url);
  await pool.join();
  await progress.kill(); // its span gets a greenio.kill event
  span.setAttribute('pages', seen.size);
  span.end();
});

unregister();
await provider.shutdown();
site?.kill();
console.log(`crawled ${seen.size} URLs: ${count.ok} ok, ${count.failed} failed`);
