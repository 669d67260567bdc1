// Type tests of greenio/bullmq's public surface (vitest's typecheck mode).
import type { Job } from 'bullmq';
import { describe, expectTypeOf, it } from 'vitest';
import { GreenWorker, JobCancelledError, ioSummary, parseIOLog, workerCommand, type GreenProcessor, type JobIOSummary } from '../../src/bullmq/index.js';
import type { Greenlet } from '../../src/greenlet.js';

interface Page {
  url: string;
}
const connection = { host: '127.0.0.1', port: 6379 };

describe('greenio/bullmq types', () => {
  it('types the processor, the options and the events by the job data and result', () => {
    const crawl = async (job: Job<Page, number>) => job.data.url.length;
    const w = new GreenWorker<Page, number>('crawl', crawl, { connection, concurrency: 500, timeout: (job) => (job.data.url.endsWith('.pdf') ? 60_000 : undefined) });
    expectTypeOf(w.bullmq.concurrency).toEqualTypeOf<number>();
    expectTypeOf(w.greenletOf('1')).toEqualTypeOf<Greenlet | undefined>();
    expectTypeOf(w.close({ timeout: 5000 })).toEqualTypeOf<Promise<void>>();
    w.on('completed', (job, result) => {
      expectTypeOf(job.data).toEqualTypeOf<Page>();
      expectTypeOf(result).toEqualTypeOf<number>();
    });
    // @ts-expect-error: a processor for another result type
    new GreenWorker<Page, number>('crawl', async (job: Job<Page, number>) => job.data.url, { connection });
    // @ts-expect-error: the connection is required
    new GreenWorker<Page, number>('crawl', crawl, { concurrency: 1 });
    expectTypeOf<GreenProcessor<Page, number>>().parameter(2).toEqualTypeOf<AbortSignal | undefined>();
  });

  it('types the IO summaries, the cancellation error and the CLI entry', () => {
    expectTypeOf(ioSummary).returns.toEqualTypeOf<JobIOSummary>();
    expectTypeOf(parseIOLog([])).toEqualTypeOf<JobIOSummary | undefined>();
    expectTypeOf(new JobCancelledError('x').code).toEqualTypeOf<'GREENIO_JOB_CANCELLED'>();
    expectTypeOf(workerCommand(['--help'])).toEqualTypeOf<Promise<number>>();
  });
});
