// examples/bullmq-crawler runs: a producer and two worker "machines" (2 processes each)
// crawl examples/crawler's site over a real redis-server, and the report adds up: the
// crawl is closed (every link of every crawled page was crawled, nothing else was), and
// every page that fails is one the site makes fail, for the reason it does; on a machine
// too busy to answer an ordinary page within the jobs' 1 s, that page may time out too,
// and then its links are (rightly) never followed.
import { describe, expect, it } from 'vitest';
import { linksOf, pageKind, PAGES } from '../../examples/crawler/site.js';
import { requireRedisServer } from './redis.js';
import { startProc } from './util.js';

interface Report {
  pages: number;
  failed: number;
  failures: Record<string, number>;
  completedPages: string[];
  failedPages: Record<string, string>;
  byProcess: Record<string, number>;
  io: Record<string, { count: number }>;
}

const WHY = { slow: 'timed out after 1000 ms', error: 'HTTP 500', reset: 'fetch failed' } as const;

describe('examples/bullmq-crawler', () => {
  it('crawls the site over Redis with two worker groups: slow pages time out, 500s and dropped connections fail after a retry', async () => {
    requireRedisServer();
    const p = startProc(process.execPath, ['--import', 'tsx', 'examples/bullmq-crawler/run.ts'], { REDIS_URL: '' });
    const { code } = await p.exited(110_000);
    expect(code, p.out()).toBe(0);
    const line = p.out().trim().split('\n').filter((l) => l.startsWith('{')).pop()!;
    const { report } = JSON.parse(line) as { report: Report };
    const num = (url: string): number => (url.endsWith('/') ? 0 : Number(/\/page\/(\d+)$/.exec(url)![1]));
    expect(report.completedPages).toHaveLength(report.pages);
    expect(report.failed).toBe(Object.keys(report.failedPages).length);
    let busy = 0;
    for (const [url, why] of Object.entries(report.failedPages)) {
      const kind = pageKind(num(url));
      if (kind === 'ok') {
        expect(why, url).toBe(WHY.slow); // an ordinary page late on a busy machine
        busy++;
      } else expect(why, url).toBe(WHY[kind as keyof typeof WHY]);
    }
    // Closed: the pages crawled are exactly the seed and the links of the pages crawled.
    const crawled = new Set([...report.completedPages, ...Object.keys(report.failedPages)].map(num));
    const linked = new Set([0]);
    for (const url of report.completedPages) {
      const n = num(url);
      if (n < PAGES) for (const l of linksOf(n, PAGES)) if (l.startsWith('/page/')) linked.add(Number(l.slice(6)));
    }
    expect([...crawled].sort((a, b) => a - b)).toEqual([...linked].sort((a, b) => a - b));
    // Each kind of failure the site makes was met, and most of the site was reached.
    expect(busy, `${busy} ordinary pages timed out`).toBeLessThan(report.pages);
    expect(report.pages).toBeGreaterThan(100);
    for (const why of Object.values(WHY)) expect(report.failures[why]).toBeGreaterThan(0);
    expect(Object.keys(report.byProcess).length).toBeGreaterThanOrEqual(2);
    // Each job's last attempt logged its fetch, the timed-out ones too.
    expect(report.io.fetch?.count).toBe(report.pages + report.failed);
    expect(p.out()).toMatch(/crawled \d+ pages .* \d+ failed/);
  }, 120_000);
});
