/**
 * The crawler's producer: BullMQ's own `Queue` (greenio adds nothing on this side). It
 * seeds the crawl, waits until the queue is drained (workers add the links they find),
 * and builds the run's report from the jobs: pages, failures and why, which process
 * crawled what, and the IO the jobs' greenlets waited on (their `greenio io:` logs).
 */
import { Queue } from 'bullmq';
import { parseIOLog } from '../../src/bullmq/index.js';
import type { PageJob, PageResult } from './processor.js';

export interface CrawlReport {
  pages: number;
  failed: number;
  failures: Record<string, number>;
  /** The URL of each page crawled. */
  completedPages: string[];
  /** Each failed page and why (its last attempt's error). */
  failedPages: Record<string, string>;
  byProcess: Record<string, number>;
  bytes: number;
  io: Record<string, { count: number; ms: number }>;
  seconds: number;
}

export async function crawlSite(redisUrl: string, queueName: string, seed: string): Promise<CrawlReport> {
  const queue = new Queue<PageJob, PageResult>(queueName, { connection: { url: redisUrl } });
  const t0 = performance.now();
  await queue.add('page', { url: seed, depth: 0 }, { jobId: encodeURIComponent(seed), attempts: 2, backoff: { type: 'fixed', delay: 100 } });
  // Drained twice in a row: a worker may be about to add the links of its last page.
  for (let quiet = 0, i = 0; quiet < 2 && i < 6000; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    quiet = c.waiting + c.active + c.delayed + c.prioritized === 0 ? quiet + 1 : 0;
  }
  const seconds = (performance.now() - t0) / 1000;
  const report: CrawlReport = { pages: 0, failed: 0, failures: {}, completedPages: [], failedPages: {}, byProcess: {}, bytes: 0, io: {}, seconds };
  for (const job of await queue.getCompleted(0, -1)) {
    report.pages++;
    report.completedPages.push(job.data.url);
    report.bytes += job.returnvalue.bytes;
    report.byProcess[job.returnvalue.pid] = (report.byProcess[job.returnvalue.pid] ?? 0) + 1;
  }
  const failed = await queue.getFailed(0, -1);
  for (const job of failed) {
    report.failed++;
    report.failures[job.failedReason] = (report.failures[job.failedReason] ?? 0) + 1;
    report.failedPages[job.data.url] = job.failedReason;
  }
  for (const job of [...(await queue.getCompleted(0, -1)), ...failed]) {
    const summary = parseIOLog((await queue.getJobLogs(job.id!)).logs);
    for (const [kind, v] of Object.entries(summary?.kinds ?? {})) {
      const t = (report.io[kind] ??= { count: 0, ms: 0 });
      t.count += v.count;
      t.ms = Math.round((t.ms + v.ms) * 10) / 10;
    }
  }
  await queue.close();
  return report;
}
