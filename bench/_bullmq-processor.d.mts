// Types of bench/_bullmq-processor.mjs (the job of bench/bullmq.ts).
import type { Job } from 'bullmq';

/** One GET to the bench's HTTP server; resolves with the body's length. */
export default function fetchOne(job: Job<{ port: number }>): Promise<number>;
