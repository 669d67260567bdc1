// Overhead of the net patch on a client: 100 connections x 1,000 round trips of 64
// bytes to an unpatched echo server in another process; event-handler style and
// await-per-message style (events.once), unpatched vs patched (the await style patched
// with each connection its own greenlet). Target: patched >= 0.95x unpatched. `await_floor`:
// each client in its own context under the bare wrapper of bench/_floor.ts (its floor).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { floorRun, installFloor } from './_floor.js';
import { echoClient } from './_loopback-echo.js';
import { defineWorkload, timeIt } from './lib.js';

const CONNS = Number(process.env.CONNS ?? 100);
const ROUNDS = Number(process.env.ROUNDS_PER_CONN ?? 1000);
const MSG = Buffer.alloc(64, 'x');

async function withServer<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const child = fork(fileURLToPath(new URL('./_echo-server.mjs', import.meta.url)), { stdio: 'ignore' });
  const [msg] = (await once(child, 'message')) as [{ port: number }];
  try {
    return await fn(msg.port);
  } finally {
    child.disconnect();
  }
}

function eventsClient(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let left = ROUNDS;
    let got = 0;
    s.on('connect', () => s.write(MSG));
    s.on('data', (d) => {
      got += d.length;
      if (got < MSG.length) return;
      got -= MSG.length;
      if (--left === 0) s.end(resolve);
      else s.write(MSG);
    });
    s.on('error', reject);
  });
}

// Each round trip awaited (events.once until the whole message came back): the shared client.
const awaitClient = (port: number): Promise<void> => echoClient(port, ROUNDS, MSG, 'end');

async function run(style: 'events' | 'await', mode: 'unpatched' | 'patched' | 'floor') {
  let spawnClient = (fn: () => Promise<void>) => fn();
  if (mode === 'floor') {
    await installFloor();
    spawnClient = floorRun;
  } else if (mode === 'patched') {
    const { patchAll } = await import('../src/monkey.js');
    const { spawn } = await import('../src/index.js');
    patchAll({ warnLate: false });
    if (style === 'await') spawnClient = (fn) => spawn(fn).get();
  }
  const client = style === 'events' ? eventsClient : awaitClient;
  return withServer(async (port) => {
    const ms = await timeIt(() => Promise.all(Array.from({ length: CONNS }, () => spawnClient(() => client(port)))), 3, 1);
    return { rt_per_s: (CONNS * ROUNDS) / (ms / 1000) };
  });
}

export default defineWorkload({
  name: 'patch_echo',
  description: `TCP echo client, ${CONNS} connections x ${ROUNDS} round trips of 64 B: patched vs unpatched`,
  variants: {
    events_unpatched: () => run('events', 'unpatched'),
    events_patched: () => run('events', 'patched'),
    await_unpatched: () => run('await', 'unpatched'),
    await_patched_greenlets: () => run('await', 'patched'),
    await_floor: () => run('await', 'floor'),
  },
  ratios: [
    { label: 'event handlers: patched / unpatched', metric: 'rt_per_s', numerator: 'events_patched', denominator: 'events_unpatched', target: 0.95 },
    { label: 'await per message: patched greenlets / unpatched', metric: 'rt_per_s', numerator: 'await_patched_greenlets', denominator: 'await_unpatched', target: 0.95, target20: 0.85, goal: 'TCP echo, await per message in greenlets / unpatched' },
    { label: 'await per message: floor wrapper / unpatched', metric: 'rt_per_s', numerator: 'await_floor', denominator: 'await_unpatched', target: 0.95, target20: 0.85, floorFor: 'TCP echo, await per message in greenlets / unpatched' },
  ],
});
