/**
 * A small app tested with greenio/testing: a retrying HTTP client (exponential back-off
 * from 30 s) against a real local server. Every test runs under the leak check and the
 * timeout dump; the back-offs run on the virtual clock, so minutes pass in milliseconds.
 */
import http from 'node:http';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Pool, sleep } from '../../src/index.js';
import { patchHttp, patchNet, unpatchAll } from '../../src/monkey.js';
import { installLeakCheck, installTimeoutDump, withVirtualTime } from '../../src/testing/index.js';

// ---- the app -------------------------------------------------------------------------

interface Reply {
  status: number;
  body: string;
}

/** One GET, no keep-alive (the socket is closed with the reply). */
function get(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** GET `url`, retrying 5xx replies with back-off (30 s, doubling) for at most `attempts` tries. */
async function getWithRetry(url: string, attempts: number, log: (line: string) => void = () => {}): Promise<string> {
  let delay = 30_000;
  for (let n = 1; ; n++) {
    const r = await get(url);
    log(`${n}:${r.status}`);
    if (r.status < 500) return r.body;
    if (n === attempts) throw new Error(`gave up on ${new URL(url).pathname} after ${n} attempts: ${r.status}`);
    await sleep(delay);
    delay *= 2;
  }
}

// ---- the tests -----------------------------------------------------------------------

installLeakCheck({ beforeEach, afterEach });
installTimeoutDump({ beforeEach, afterEach }, { ms: 20_000 });

let server: http.Server;
let base = '';
/** Failures still to give per path before it answers 200. */
const failures = new Map<string, number>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const left = failures.get(req.url!) ?? 0;
    failures.set(req.url!, left - 1);
    if (left > 0) res.writeHead(503).end('busy');
    else res.writeHead(200).end(`ok ${req.url}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // Patched after the server listens: the client's sockets and requests are greenio's.
  patchNet();
  patchHttp();
});

afterAll(() => {
  unpatchAll();
  server.close();
});

describe('getWithRetry (retrying HTTP client)', () => {
  it('retries two 503s after 30 s and 60 s of back-off, in virtual time', async () => {
    failures.set('/a', 2);
    const t0 = performance.now();
    const out = await withVirtualTime(async (clock) => {
      const when: string[] = [];
      const body = await getWithRetry(`${base}/a`, 5, (l) => when.push(`${l}@${clock.now()}`));
      return { body, when };
    });
    expect(out).toEqual({ body: 'ok /a', when: ['1:503@0', '2:503@30000', '3:200@90000'] });
    expect(performance.now() - t0).toBeLessThan(10_000); // 90 s of back-off
  });

  it('gives up after its attempts, saying on what and why', async () => {
    failures.set('/down', 100);
    const err = await withVirtualTime(async (clock) => {
      const e = await getWithRetry(`${base}/down`, 4).catch((x: Error) => x);
      return `${(e as Error).message} at +${clock.now()} ms`;
    });
    expect(err).toBe('gave up on /down after 4 attempts: 503 at +210000 ms');
  });

  it('fetches six URLs through a Pool of 3, each retried on its own schedule', async () => {
    const paths = ['/p0', '/p1', '/p2', '/p3', '/p4', '/p5'];
    paths.forEach((p, i) => failures.set(p, i % 3));
    const run = (): Promise<string[]> =>
      withVirtualTime(async (clock) => {
        const done: string[] = [];
        const pool = new Pool(3);
        await pool.map(async (p: string) => {
          await getWithRetry(`${base}${p}`, 5);
          done.push(`${p}@${clock.now()}`);
        }, paths);
        return done;
      });
    const first = await run();
    // p0 at once, p1 after 30 s, p2 after 90 s; p3-p5 take the slots as they free: p3 and
    // p4 p0's at 0 (p4 then done at 30 s), p5 the slot p1 or p4 frees at 30 s (done at 120 s).
    expect([...first].sort()).toEqual(['/p0@0', '/p1@30000', '/p2@90000', '/p3@0', '/p4@30000', '/p5@120000']);
    paths.forEach((p, i) => failures.set(p, i % 3));
    expect((await run()).sort()).toEqual([...first].sort());
  });
});
