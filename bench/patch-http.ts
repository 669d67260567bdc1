// Overhead of the patches on an http server under local load: autocannon (a separate
// process, 50 connections, 4 s) against a hello-world server, unpatched, patched, and
// patched with each request handled in its own greenlet. Target: patched >= 0.95x.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { defineWorkload } from './lib.js';

const DURATION = Number(process.env.DURATION ?? 4);
const require = createRequire(import.meta.url);
const autocannon = require.resolve('autocannon/autocannon.js');

async function load(port: number): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [autocannon, '-c', '50', '-d', String(DURATION), '-j', `http://127.0.0.1:${port}/`], { maxBuffer: 1 << 24 });
  return (JSON.parse(stdout) as { requests: { average: number } }).requests.average;
}

async function run(mode: 'unpatched' | 'patched' | 'greenlets') {
  let handler: http.RequestListener = (_req, res) => res.end('hello world');
  if (mode !== 'unpatched') {
    const { patchAll } = await import('../src/monkey.js');
    const { spawn } = await import('../src/index.js');
    patchAll({ warnLate: false });
    if (mode === 'greenlets') {
      const inner = handler;
      handler = (req, res) => void spawn(inner, req, res);
    }
  }
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const rps = await load((server.address() as { port: number }).port);
  server.close();
  return { req_per_s: rps };
}

export default defineWorkload({
  name: 'patch_http',
  description: `http server under autocannon -c 50 -d ${DURATION}: requests/s patched vs unpatched`,
  variants: {
    unpatched: () => run('unpatched'),
    patched: () => run('patched'),
    greenlet_per_request: () => run('greenlets'),
  },
  ratios: [
    { label: 'patched / unpatched', metric: 'req_per_s', numerator: 'patched', denominator: 'unpatched', target: 0.95 },
    { label: 'greenlet per request / unpatched', metric: 'req_per_s', numerator: 'greenlet_per_request', denominator: 'unpatched' },
  ],
});
