// examples/otel: the crawler exporting spans to the console exporter, run in its own
// process against a small site served here on 127.0.0.1; the printed spans form the
// spawn tree (every page's greenlet span under the crawl span, in one trace).
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PAGES = 12;
let server: Server;
let root: string;

beforeAll(async () => {
  // Page n links to 2n+1, 2n+2 and to an off-site page; every page answers within 20 ms.
  server = createServer((req, res) => {
    const n = req.url === '/' ? -1 : Number(/^\/page\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN);
    if (Number.isNaN(n) || n >= PAGES) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    const links = (n < 0 ? [0] : [2 * n + 1, 2 * n + 2].filter((k) => k < PAGES)).map((k) => `<a href="/page/${k}">${k}</a>`);
    setTimeout(() => res.end(`<html>${links.join(' ')}<a href="https://example.com/">x</a></html>`), n < 0 ? 1 : (n * 7) % 20);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => server.close());

interface PrintedSpan {
  name: string;
  id: string;
  traceId: string;
  parent: string | undefined;
  block: string;
}

/** The spans ConsoleSpanExporter printed (console.dir of one object per span). */
function parseSpans(stdout: string): PrintedSpan[] {
  return stdout
    .split(/^\{$/m)
    .slice(1)
    .map((block) => ({
      name: /^ {2}name: '([^']*)'/m.exec(block)![1]!,
      id: /^ {2}id: '([0-9a-f]{16})'/m.exec(block)![1]!,
      traceId: /^ {2}traceId: '([0-9a-f]{32})'/m.exec(block)![1]!,
      parent: /^ {2}parentSpanContext: \{[^}]*?spanId: '([0-9a-f]{16})'/ms.exec(block)?.[1],
      block,
    }));
}

describe('examples/otel/crawl.ts', () => {
  it('prints a span per greenlet, each page\'s under the crawl span, and exits cleanly', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GREENIO_') && k !== 'NODE_OPTIONS'));
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, ['--import', 'tsx', join(repo, 'examples/otel/crawl.ts'), root], { cwd: repo, env, timeout: 90_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      );
    });
    const context = `exit code ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
    expect(code, context).toBe(0);
    expect(stderr, context).toBe('');
    expect(stdout).toMatch(new RegExp(`^crawled ${PAGES + 1} URLs: ${PAGES + 1} ok, 0 failed$`, 'm'));
    const spans = parseSpans(stdout);
    const crawl = spans.find((s) => s.name === 'crawl')!;
    expect(crawl, context).toBeDefined();
    expect(crawl.parent).toBe(undefined);
    const pages = spans.filter((s) => s.name === '/' || s.name.startsWith('/page/'));
    expect(pages.map((s) => s.name).sort()).toEqual(['/', ...Array.from({ length: PAGES }, (_, k) => `/page/${k}`)].sort());
    // The spawn tree: the main greenlet spawned every page, progress and finish inside the
    // crawl span, so each of their spans is a child of it, in its trace.
    const greenlets = spans.filter((s) => s.block.includes("'greenio.greenlet.id'"));
    expect(greenlets.map((s) => s.name).sort()).toEqual([...pages.map((s) => s.name), 'finish', 'progress'].sort());
    for (const s of greenlets) {
      expect(s.parent, s.name).toBe(crawl.id);
      expect(s.traceId).toBe(crawl.traceId);
      expect(s.block).toMatch(/'code.function': '(crawlPage|progress|finish)'/);
    }
    for (const s of pages) expect(s.block).toMatch(/'greenio.outcome': 'ok'/);
    const progress = greenlets.find((s) => s.name === 'progress')!;
    expect(progress.block).toMatch(/'greenio.outcome': 'killed'/);
    expect(progress.block).toMatch(/name: 'greenio.kill'/);
    expect(progress.block).toMatch(/'greenio.wait.sleep.count': \d+/);
  }, 120_000);
});
