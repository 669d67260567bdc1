// examples/bullmq-crawler runs: a producer and two worker "machines" (2 processes each)
// crawl examples/crawler's site over a real redis-server, and the report adds up: every
// page that fails is one the site makes fail, for the reason it does.
import { describe, expect, it } from 'vitest';
import { pageKind } from '../../examples/crawler/site.js';
import { requireRedisServer } from './redis.js';
import { startProc } from './util.js';

interface Report {
  pages: number;
  failed: number;
  failures: Record<string, number>;
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
    expect(report.pages).toBeGreaterThan(250);
    expect(report.failed).toBe(Object.keys(report.failedPages).length);
    for (const [url, why] of Object.entries(report.failedPages)) {
      const kind = pageKind(Number(/\/page\/(\d+)$/.exec(url)![1]));
      expect(kind, url).not.toBe('ok');
      expect(why, url).toBe(WHY[kind as keyof typeof WHY]);
    }
    for (const why of Object.values(WHY)) expect(report.failures[why]).toBeGreaterThan(0);
    expect(Object.keys(report.byProcess).length).toBeGreaterThanOrEqual(2);
    // Each job's last attempt logged its fetch, the timed-out ones too.
    expect(report.io.fetch?.count).toBe(report.pages + report.failed);
    expect(p.out()).toMatch(/crawled \d+ pages .* \d+ failed/);
  }, 120_000);
});
