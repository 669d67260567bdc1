/**
 * The crawler's job, run by `greenio worker` in each greenlet: fetch one page (global
 * `fetch`, aborted for real if the job's timeout fires), find its same-site links, and
 * add each as a new job. The job id is the URL, so BullMQ itself drops pages already
 * queued or crawled: the frontier is deduplicated in Redis, whichever machine finds a
 * link. A server error (HTTP 5xx) or a dropped connection fails the attempt: BullMQ
 * retries it per the job's `attempts`.
 */
import { Queue, type Job } from 'bullmq';

export interface PageJob {
  url: string;
  depth: number;
}
export interface PageResult {
  url: string;
  status: number;
  bytes: number;
  links: number;
  pid: number;
}

// Made at load time, in the worker's main greenlet: a queue made inside a job's
// greenlet would have its connection closed when that greenlet dies.
const frontier = new Queue<PageJob>(process.env.CRAWL_QUEUE ?? 'crawl', { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } });

export default async function crawl(job: Job<PageJob, PageResult>): Promise<PageResult> {
  const res = await fetch(job.data.url);
  const html = await res.text();
  if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
  const origin = new URL(job.data.url).origin;
  const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => new URL(m[1]!, job.data.url)).filter((u) => u.origin === origin).map((u) => u.href);
  if (job.data.depth < Number(process.env.CRAWL_DEPTH ?? 20)) {
    await frontier.addBulk(links.map((url) => ({
      name: 'page',
      data: { url, depth: job.data.depth + 1 },
      opts: { jobId: encodeURIComponent(url), attempts: 2, backoff: { type: 'fixed', delay: 100 } },
    })));
  }
  await job.updateProgress(100);
  return { url: job.data.url, status: res.status, bytes: html.length, links: links.length, pid: process.pid };
}
