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
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { redisWork, root, startRedis } from './_clients-redis-work.mjs';

async function work(lib, mode, url) {
  const { createHook } = await import('node:async_hooks');
  const { round, close } = await redisWork(lib, mode, url);
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

async function drive() {
  const node = resolve(process.argv[2] ?? process.execPath);
  const libs = (process.env.LIBS ?? 'redis').split(',');
  const { url, stop } = await startRedis('greenio-redis-promises-');
  try {
    for (const lib of libs) {
      for (const mode of ['unpatched', 'floor', 'greenlets', 'patched']) {
        const r = spawnSync(node, [import.meta.filename, 'work', lib, mode, url], { encoding: 'utf8', cwd: root, env: process.env });
        process.stdout.write(r.status === 0 ? r.stdout : `${lib} ${mode} failed:\n${r.stderr.slice(-1500)}\n`);
      }
    }
  } finally {
    stop();
  }
}

if (process.argv[2] === 'work') await work(process.argv[3], process.argv[4], process.argv[5]);
else await drive();
