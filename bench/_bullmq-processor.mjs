// The job of bench/bullmq.ts, shared by greenio's worker and the plain BullMQ peer: one
// GET to the local HTTP server, which answers after ~20 ms (an IO-bound job). Plain
// JavaScript: greenio's worker runs from dist/ there, whose worker processes load the
// processor without tsx (types in _bullmq-processor.d.mts).
import { request } from 'node:http';

/** @param {import('bullmq').Job<{ port: number }>} job */
export default function fetchOne(job) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: job.data.port, path: `/job/${job.id}` }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
