import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamServer } from '../src/server.js';
import { Greenlet, getCurrent, spawn } from '../src/greenlet.js';
import { Pool } from '../src/pool/pool.js';
import { Event } from '../src/event.js';
import { sleep } from '../src/sleep.js';
import { waitUntil } from './fixtures/pools-util.js';

const LOCAL = { host: '127.0.0.1', port: 0 };
const servers: StreamServer[] = [];
function serve(handler: ConstructorParameters<typeof StreamServer>[1], options?: ConstructorParameters<typeof StreamServer>[2]): StreamServer {
  const s = new StreamServer(LOCAL, handler, options);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(0)));
});

/** Connect, send `msg` (then end), and collect everything until the server closes. */
async function exchange(port: number, msg: string, end = true): Promise<string> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(msg);
  if (end) sock.end();
  let out = '';
  sock.setEncoding('utf8');
  for await (const chunk of sock) out += chunk as string;
  return out;
}

/** Connect and resolve once the server closes the connection (with what it sent). */
async function hold(port: number): Promise<{ sock: Socket; closed: Promise<string> }> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  let out = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (out += d));
  return { sock, closed: once(sock, 'close').then(() => out) };
}

const echo = async (socket: Socket): Promise<void> => {
  for await (const chunk of socket) socket.write(chunk as Buffer);
};

describe('StreamServer: serving', () => {
  it('serves each connection in its own greenlet, with the remote address', async () => {
    const seen: Array<{ g: Greenlet; port: number; family: string }> = [];
    const s = serve(async (socket, address) => {
      seen.push({ g: getCurrent(), port: address.port, family: address.family });
      await echo(socket);
    });
    expect(s.closed).toBe(true);
    await s.start();
    expect(s.started && !s.closed).toBe(true);
    const port = s.address!.port;
    expect(port).toBeGreaterThan(0);
    expect(await exchange(port, 'one')).toBe('one');
    expect(await exchange(port, 'two')).toBe('two');
    expect(seen.length).toBe(2);
    expect(seen[0]!.g).not.toBe(seen[1]!.g);
    expect(seen[0]!.g).not.toBe(getCurrent());
    expect(seen[0]!.port).toBeGreaterThan(0);
    expect(seen[0]!.family).toBe('IPv4');
  });

  it('closes the connection once the handler is done, after what it wrote', async () => {
    const s = serve((socket) => {
      socket.write('hello and goodbye');
    });
    await s.start();
    expect(await exchange(s.address!.port, '', false)).toBe('hello and goodbye');
  });

  it('serves 1,000 concurrent clients', async () => {
    let live = 0;
    let peak = 0;
    const s = serve(
      async (socket) => {
        peak = Math.max(peak, ++live);
        try {
          await echo(socket);
        } finally {
          live--;
        }
      },
      { backlog: 1024 },
    );
    await s.start();
    const port = s.address!.port;
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => exchange(port, `ping ${i}`)));
    expect(replies).toEqual(Array.from({ length: 1000 }, (_, i) => `ping ${i}`));
    expect(peak).toBeGreaterThan(1);
  }, 60_000);

  it('with a pool, never runs more handlers than its capacity and still serves everyone', async () => {
    let live = 0;
    let peak = 0;
    const pool = new Pool(10);
    // The first handlers hold until ten run at once (or 10 s pass): the pool's limit is
    // then reached however slowly a busy machine accepts the 200 connections (a 2 ms
    // sleep let a slow accept loop peak at 6 on a loaded Node 20); then each holds 20 ms more,
    // in which an 11th would start if the pool allowed one.
    const full = new Event();
    const s = serve(
      async (socket) => {
        peak = Math.max(peak, ++live);
        if (live === 10) full.set();
        try {
          await full.wait(10_000);
          await sleep(20); // time for an 11th handler to start, were the pool to allow one
          await echo(socket);
        } finally {
          live--;
        }
      },
      { spawn: pool, backlog: 1024 },
    );
    expect(s.pool).toBe(pool);
    await s.start();
    const port = s.address!.port;
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => exchange(port, `n${i}`)));
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => `n${i}`));
    expect(peak).toBe(10);
    expect(new StreamServer(0, echo, { spawn: 3 }).pool?.capacity).toBe(3);
  }, 60_000);

  it('reports a handler error on stderr and keeps serving', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      let n = 0;
      const s = serve(async (socket) => {
        if (++n === 1) throw new Error('handler exploded');
        await echo(socket);
      });
      await s.start();
      const port = s.address!.port;
      expect(await exchange(port, 'first')).toBe(''); // closed on the error
      expect(await exchange(port, 'second')).toBe('second');
      await waitUntil(() => write.mock.calls.some((c) => String(c[0]).includes('handler exploded')));
      expect(s.closed).toBe(false);
    } finally {
      write.mockRestore();
    }
  });

  it('a connection error never crashes the server', async () => {
    let resets = 0;
    const s = serve(async (socket) => {
      socket.resume();
      await once(socket, 'close').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNRESET') resets++;
      });
    });
    await s.start();
    const sock = connect(s.address!.port, '127.0.0.1');
    await once(sock, 'connect');
    sock.resetAndDestroy(); // RST: ECONNRESET on the server side
    await waitUntil(() => resets === 1);
    expect(await exchange(s.address!.port, 'still up', true)).toBe('');
  });
});

describe('StreamServer: stopping', () => {
  it('stop() waits for handlers up to the timeout, then kills the rest: their finally runs, their sockets close', async () => {
    const log: string[] = [];
    const s = serve(async (socket) => {
      const slow = (await once(socket, 'data'))[0].toString() === 'slow';
      try {
        await sleep(slow ? 60_000 : 50);
        socket.write('done');
      } finally {
        log.push(slow ? 'slow finally' : 'fast finally');
      }
    });
    await s.start();
    const port = s.address!.port;
    const clients = await Promise.all(['fast', 'slow', 'slow'].map(async (m) => {
      const c = await hold(port);
      c.sock.write(m);
      return c;
    }));
    await waitUntil(() => s._live.size === 3);
    const t0 = performance.now();
    await s.stop(300);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(10_000);
    expect(log.sort()).toEqual(['fast finally', 'slow finally', 'slow finally']);
    expect(await Promise.all(clients.map((c) => c.closed))).toEqual(['done', '', '']);
    expect(s.closed && !s.started).toBe(true);
    await expect(exchange(port, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('stop() kills a handler blocked reading a silent client, and its finally runs', async () => {
    let cleaned = false;
    const s = serve(async (socket) => {
      try {
        for await (const chunk of socket) socket.write(chunk as Buffer);
      } finally {
        cleaned = true;
      }
    });
    await s.start();
    const c = await hold(s.address!.port);
    await waitUntil(() => s._live.size === 1);
    await s.stop(50);
    expect(cleaned).toBe(true);
    await c.closed;
    expect(c.sock.destroyed).toBe(true);
  });

  it('serveForever() resolves when the server is stopped; killing its greenlet stops the server', async () => {
    const s = serve(echo);
    const g = spawn(() => s.serveForever());
    await waitUntil(() => !s.closed);
    const port = s.address!.port;
    expect(await exchange(port, 'up')).toBe('up');
    await s.stop();
    await g.join(5000);
    expect(g.dead && g.successful()).toBe(true);

    const s2 = serve(echo);
    const g2 = spawn(() => s2.serveForever());
    await waitUntil(() => !s2.closed);
    await g2.kill();
    await waitUntil(() => !s2.started);
    expect(s2.closed).toBe(true);
  });

  it('stop() closes connections still queued for a full pool, unserved, and leaves no handle behind', async () => {
    const tcp = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const before = tcp();
    let served = 0;
    const s = serve(async (socket) => {
      served++;
      await once(socket, 'close');
    }, { spawn: 1 });
    await s.start();
    const port = s.address!.port;
    const first = await hold(port);
    await waitUntil(() => served === 1);
    const queued = await hold(port);
    await sleep(20);
    await s.stop(20);
    expect(served).toBe(1);
    await Promise.all([first.closed, queued.closed]);
    expect(tcp()).toBe(before);
  });

  it('a greenlet killed while it waits in stop() stops waiting, and the server still stops', async () => {
    const s = serve(async (socket) => {
      await once(socket, 'close');
    });
    await s.start();
    const c = await hold(s.address!.port);
    await waitUntil(() => s._live.size === 1);
    const stopper = spawn(() => s.stop(200));
    await sleep(20);
    await stopper.kill();
    expect(s.closed).toBe(true);
    await c.closed; // killed by the stop, 200 ms later
    await waitUntil(() => !s.started);
    expect(s._live.size).toBe(0);
  });

  it('can be started again after stop()', async () => {
    const s = serve(echo);
    await s.start();
    await s.stop();
    await s.start();
    expect(await exchange(s.address!.port, 'again')).toBe('again');
  });
});

describe('StreamServer: arguments and start errors', () => {
  it('rejects EADDRINUSE when the port is taken', async () => {
    const a = serve(echo);
    await a.start();
    const b = serve(() => {}, undefined);
    const taken = new StreamServer({ host: '127.0.0.1', port: a.address!.port }, echo);
    await expect(taken.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(taken.started).toBe(false);
    expect(b.started).toBe(false);
  });

  it('throws TypeError or RangeError for bad arguments', () => {
    expect(() => new StreamServer(70_000, echo)).toThrow(RangeError);
    expect(() => new StreamServer('80' as never, echo)).toThrow(/Expected `listen` to be a port number or \{ host, port \}/);
    expect(() => new StreamServer(0, 'x' as never)).toThrow(/Expected `handler` to be a function/);
    expect(() => new StreamServer(0, echo, { spawn: 0 })).toThrow(RangeError);
    expect(() => new StreamServer(0, echo, { spawn: {} as never })).toThrow(TypeError);
    expect(() => new StreamServer(0, echo, { backlog: -1 })).toThrow(RangeError);
    expect(() => new StreamServer({ port: 0, host: 1 as never }, echo)).toThrow(TypeError);
  });
});
