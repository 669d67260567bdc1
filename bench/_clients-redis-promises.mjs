#!/usr/bin/env node
// Promises (and other async resources) made per node-redis command, by the frame that makes
// them, in each mode: unpatched, floor (each loop in its own AsyncLocalStorage.run),
// greenlets (nothing patched) and patched (patchAll(), greenlets): SET/GET alternating, 50
// loops on one client, an async_hooks init counter over 10,000 commands after 5,000. What it
// showed (Node 20 and 26): 6.0 promises a command in every mode, from the same frames (the
// loop's await, node-redis's command method, _executeCommand (two), addCommand's
// `new Promise`, one `then`): greenio's wait adds none. On Node 20 each of them pays
// AsyncLocalStorage's init hook once a store is in use (the floor, greenlets and patched
// alike): that is Node 20's excess over unpatched (see `NAMES=` in _clients-redis-count.mjs).
// Limits: the counter's own hook makes every mode pay async_hooks (counts only, no timing);
// stacks are sampled (1 in 7). Build first (`npx tsc -p tsconfig.build.json`, or DIST=<dir>).
// Run: node bench/_clients-redis-promises.mjs [node binary]   (LIBS=redis,ioredis)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const C = 50;

async function work(lib, mode, url) {
  const { createHook, AsyncLocalStorage } = await import('node:async_hooks');
  const dist = process.env.DIST ?? join(root, 'dist');
  const { spawn: gspawn, joinAll } = await import(join(dist, 'src/index.js'));
  if (mode === 'patched') (await import(join(dist, 'src/monkey.js'))).patchAll({ warnLate: false });
  const scope = new AsyncLocalStorage();
  let c;
  let close;
  if (lib === 'ioredis') {
    const { Redis } = await import('ioredis');
    c = new Redis(url);
    close = () => c.quit();
  } else {
    const { createClient } = await import('redis');
    c = createClient({ url });
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
  await round(5000);
  const counts = {};
  const frames = new Map();
  let on = false;
  let seq = 0;
  const hook = createHook({
    init(_id, type) {
      if (!on) return;
      counts[type] = (counts[type] ?? 0) + 1;
      if (type !== 'PROMISE' || seq++ % 7 !== 0) return;
      const o = {};
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 8;
      Error.captureStackTrace(o);
      Error.stackTraceLimit = limit;
      // The first frame that is neither async_hooks' nor this file's hook: the maker.
      const maker = o.stack.split('\n').slice(1).map((s) => s.trim()).find((s) => !s.includes('async_hooks') && !s.includes('AsyncHook.init')) ?? '?';
      const k = maker.replace(/\(.*node_modules\//, '(').replace(/:\d+\)$/, ')');
      frames.set(k, (frames.get(k) ?? 0) + 7);
    },
  }).enable();
  const N = 10000;
  on = true;
  await round(N);
  on = false;
  hook.disable();
  const per = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round((v / N) * 100) / 100]));
  const top = [...frames].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => [Math.round((v / N) * 100) / 100, k]);
  console.log(JSON.stringify({ node: process.version, client: lib, mode, per_command: per, promise_makers: top }));
  await close();
}

function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function drive() {
  const node = resolve(process.argv[2] ?? process.execPath);
  const libs = (process.env.LIBS ?? 'redis').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'greenio-redis-promises-'));
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--dir', dir], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    for (const lib of libs) {
      for (const mode of ['unpatched', 'floor', 'greenlets', 'patched']) {
        const r = spawnSync(node, [import.meta.filename, 'work', lib, mode, `redis://127.0.0.1:${port}`], { encoding: 'utf8', cwd: root, env: process.env });
        process.stdout.write(r.status === 0 ? r.stdout : `${lib} ${mode} failed:\n${r.stderr.slice(-1500)}\n`);
      }
    }
  } finally {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'work') await work(process.argv[3], process.argv[4], process.argv[5]);
else await drive();
