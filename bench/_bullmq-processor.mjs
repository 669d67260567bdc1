// The job of bench/bullmq.ts, shared by greenio's worker and the plain BullMQ peer: one
// GET to the local HTTP server, which answers after ~20 ms (an IO-bound job).
import { request } from 'node:http';
import type { Job } from 'bullmq';


export default function fetchOne(job: Job<{ port: number }>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: job.data.port, path: `/job/${job.id}` }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
