// HTTP requests on tracing:greenio.client: fetch, http(s).request (and so axios) and npm
// undici, issued by greenlets against a real server on 127.0.0.1, each one client operation
// with its redacted `METHOD url` detail, its outcome (ok / error / killed / timedOut) and,
// when it failed, its error. This file's process starts patched (patchAll at load).
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRequire } from 'node:module';
import diagnostics from 'node:diagnostics_channel';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GreenletExit, TimeoutError, sleep, spawn, withTimeout } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';

patchAll({ warnLate: false });
// Loaded by require() after the patch: its dispatcher files load through the hook.
const undici = createRequire(import.meta.url)('undici') as typeof import('undici');

type Ctx = Record<string, unknown>;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
type Seen = { ch: string; ev: string; ctx: Ctx };

function record(names: string[]): { log: Seen[]; off: () => void } {
  const log: Seen[] = [];
  const offs: (() => void)[] = [];
  for (const name of names) {
    const tc = diagnostics.tracingChannel(name);
    const handlers = Object.fromEntries(EVENTS.map((ev) => [ev, (c: unknown) => log.push({ ch: name, ev, ctx: c as Ctx })]));
    tc.subscribe(handlers as never);
    offs.push(() => tc.unsubscribe(handlers as never));
  }
  return { log, off: () => offs.forEach((f) => f()) };
}

let server: http.Server;
let base = '';
let refused = ''; // a port nobody listens on
const sockets = new Set<Socket>();
beforeAll(async () => {
  server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url!.startsWith('/slow')) return; // never answers: only an abort ends it
    res.end('ok');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const spare = http.createServer().listen(0, '127.0.0.1');
  await once(spare, 'listening');
  refused = `http://127.0.0.1:${(spare.address() as AddressInfo).port}`;
  await new Promise((r) => spare.close(r));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  unpatchAll();
});

/** http.get as a promise: the body read to its end. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Run `fn` in a greenlet; the client operations it issued, by context, with their events. */
async function clientOpsOf(fn: () => Promise<unknown>): Promise<{ ctx: Ctx; events: string[] }[]> {
  const { log, off } = record(['greenio.client', 'greenio.wait']);
  try {
    const g = spawn(fn);
    await g.join();
    if (!g.successful()) throw g.exception;
    // A request's op may end a turn after the call returned (its 'close').
    await sleep(20);
  } finally {
    off();
  }
  // HTTP requests are on the client channel only; their body reads (fetch.body) and sockets stay waits.
  for (const s of log) {
    if (s.ch === 'greenio.wait') expect(String(s.ctx.kind), String(s.ctx.detail)).not.toMatch(/^(fetch|http\.request|undici\.request)$/);
  }
  const byCtx = new Map<Ctx, string[]>();
  for (const s of log) if (s.ch === 'greenio.client') byCtx.set(s.ctx, [...(byCtx.get(s.ctx) ?? []), s.ev]);
  return [...byCtx].map(([ctx, events]) => ({ ctx, events }));
}

const OK = ['start', 'end', 'asyncStart', 'asyncEnd'];
const FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd'];

describe('HTTP requests on tracing:greenio.client', () => {
  it('fetch: a request with its redacted detail, ok; a refused one with its error', async () => {
    const ops = await clientOpsOf(async () => {
      const res = await fetch(`${base}/ok?token=s3cret&page=2`);
      expect(await res.text()).toBe('ok');
      await fetch(`${refused}/x`).catch(() => {});
    });
    expect(ops.map((o) => [o.ctx.kind, o.ctx.detail, o.ctx.outcome, o.events])).toEqual([
      ['fetch', `GET ${base}/ok?token=REDACTED&page=REDACTED`, 'ok', OK],
      ['fetch', `GET ${refused}/x`, 'error', FAILED],
    ]);
    expect(ops[0]!.ctx).toMatchObject({ isWait: true, error: undefined });
    expect(ops[1]!.ctx.error).toBeInstanceOf(TypeError); // fetch failed (its cause: ECONNREFUSED)
    expect(((ops[1]!.ctx.error as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('fetch: credentials in the URL never reach the detail', async () => {
    const ops = await clientOpsOf(async () => {
      await fetch(`http://alice:hunter2@127.0.0.1:1/x?k=v`).catch(() => {}); // fetch refuses such a URL
    });
    expect(ops.map((o) => [o.ctx.detail, o.ctx.outcome])).toEqual([['GET http://REDACTED:REDACTED@127.0.0.1:1/x?k=REDACTED', 'error']]);
    expect(JSON.stringify(ops.map((o) => o.ctx.detail))).not.toMatch(/hunter2|alice/);
  });

  it('http.request / http.get and axios: ok, refused (error), timed out and killed', async () => {
    let victim: ReturnType<typeof spawn> | undefined;
    const ops = await clientOpsOf(async () => {
      expect(await httpGet(`${base}/ok?q=1`)).toBe('ok');
      expect((await axios.get(`${base}/ok?api_key=xyz`)).data).toBe('ok');
      await httpGet(`${refused}/down`).catch(() => {});
      await withTimeout(50, () => httpGet(`${base}/slow/t`)).catch(() => {});
      victim = spawn(() => httpGet(`${base}/slow/k`));
      await sleep(50); // its request is sent
      await victim.kill();
    });
    const rows = ops.map((o) => [o.ctx.kind, o.ctx.detail, o.ctx.outcome, o.events]);
    expect(rows).toEqual([
      ['http.request', `GET ${base}/ok?q=REDACTED`, 'ok', OK],
      ['http.request', `GET ${base}/ok?api_key=REDACTED`, 'ok', OK],
      ['http.request', `GET ${refused}/down`, 'error', FAILED],
      ['http.request', `GET ${base}/slow/t`, 'timedOut', FAILED],
      ['http.request', `GET ${base}/slow/k`, 'killed', FAILED],
    ]);
    expect((ops[2]!.ctx.error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(ops[3]!.ctx.error).toBeInstanceOf(TimeoutError);
    expect(ops[4]!.ctx.error).toBeInstanceOf(GreenletExit);
    expect(ops[4]!.ctx.id).toBe(victim!.id); // the killed greenlet's own operation
    for (const o of ops) expect(o.ctx.durationMs).toBeGreaterThanOrEqual(0);
    for (const o of ops) expect(o.ctx.isWait).toBe(false); // a request is a handle its greenlet holds, not a wait
  });

  it('npm undici: request ok, refused (error), and timed out', async () => {
    const ops = await clientOpsOf(async () => {
      const res = await undici.request(`${base}/ok?secret=1`);
      expect(await res.body.text()).toBe('ok');
      await undici.request(`${refused}/r`).catch(() => {});
      await withTimeout(50, () => undici.request(`${base}/slow/u`)).catch(() => {});
    });
    expect(ops.map((o) => [o.ctx.kind, o.ctx.detail, o.ctx.outcome, o.events])).toEqual([
      ['undici.request', `GET ${base}/ok?secret=REDACTED`, 'ok', OK],
      ['undici.request', `GET ${refused}/r`, 'error', FAILED],
      ['undici.request', `GET ${base}/slow/u`, 'timedOut', FAILED],
    ]);
    expect((ops[1]!.ctx.error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(ops[2]!.ctx.error).toBeInstanceOf(TimeoutError);
  });
});
