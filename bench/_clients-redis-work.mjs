// What the Redis counting scripts share (_clients-redis-count.mjs, _clients-redis-promises.mjs):
// a redis-server of their own on loopback, and the measured work, one client with 50 loops of
// SET/GET alternating in one of four modes: unpatched, floor (each loop in its own
// AsyncLocalStorage.run, its store read at each command), greenlets (nothing patched) and
// patched (patchAll() before the client loads, greenlets). greenio comes from dist/ (or DIST=).
// Limits: no timing here; the server runs without persistence.
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');
export const C = 50;

/** The client of `lib` at `url` in `mode`: `round(ops)` runs `ops` commands, `close()` ends it. */
export async function redisWork(lib, mode, url, connectTimeout = 10_000) {
  const dist = process.env.DIST ?? join(root, 'dist');
  const { spawn: gspawn, joinAll } = await import(join(dist, 'src/index.js'));
  if (mode === 'patched') (await import(join(dist, 'src/monkey.js'))).patchAll({ warnLate: false });
  const scope = new AsyncLocalStorage();
  let c;
  let close;
  if (lib === 'ioredis') {
    const { Redis } = await import('ioredis');
    c = new Redis(url, { connectTimeout });
    close = () => c.quit();
  } else {
    const { createClient } = await import('redis');
    c = createClient({ url, socket: { connectTimeout } });
    await c.connect();
    close = () => c.close();
  }
  const round = async (ops) => {
    const per = Math.ceil(ops / C);
    const loop = async (w) => {
      for (let i = 0; i < per; i++) await (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`));
    };
    const scoped = async (w) => {
      for (let i = 0; i < per; i++) await (i % 2 === 0 ? c.set(`k${scope.getStore().w}`, String(i)) : c.get(`k${w}`));
    };
    if (mode === 'patched' || mode === 'greenlets') await joinAll(Array.from({ length: C }, (_, w) => gspawn(loop, w)), { raiseError: true });
    else if (mode === 'floor') await Promise.all(Array.from({ length: C }, (_, w) => scope.run({ w }, scoped, w)));
    else await Promise.all(Array.from({ length: C }, (_, w) => loop(w)));
  };
  return { round, close };
}

function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitPing(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((res) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        s.destroy();
        res(String(d).startsWith('+PONG'));
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not answer');
}

/** A redis-server in a temp dir on a free loopback port, answering: `{ url, dir, stop() }`. */
export async function startRedis(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--dir', dir], { stdio: 'ignore' });
  const stop = () => {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitPing(port);
  } catch (e) {
    stop();
    throw e;
  }
  return { url: `redis://127.0.0.1:${port}`, dir, stop };
}
