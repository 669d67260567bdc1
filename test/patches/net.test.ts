import dc from 'node:diagnostics_channel';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import * as hub from '../../src/hub/index.js';
import { Event, spawn, getCurrent, type Greenlet } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';

patchAll({ warnLate: false });
afterAll(() => unpatchAll());
const starts: Array<{ greenlet: unknown; kind: string; detail: unknown }> = [];
dc.subscribe('greenio:io:start', (m) => starts.push(m as (typeof starts)[number]));

describe('patched net', () => {
  it('a socket belongs to the greenlet that connected; a server to the one that listened; an accepted socket to its server’s', async () => {
    let accepted: net.Socket | undefined;
    let srv!: net.Server;
    const ready = new Event();
    const forever = new Event();
    // The server's greenlet stays alive (a greenlet that returns keeps what it started).
    const server = spawn(async () => {
      srv = net.createServer((s) => {
        accepted = s;
        s.on('data', (d) => s.write(d));
      });
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
      ready.set();
      await forever.wait();
    });
    await ready.wait();
    const port = (srv.address() as net.AddressInfo).port;
    starts.length = 0;
    const client = spawn(async () => {
      const s = net.connect(port, '127.0.0.1');
      await once(s, 'connect');
      // write/end with a callback are ops until flushed; without one, nothing is tracked.
      await new Promise<void>((r, j) => s.write('ping', (e) => (e ? j(e) : r())));
      s.write('no callback');
      const [echo] = (await once(s, 'data')) as [Buffer];
      await new Promise<void>((r) => s.end(() => r()));
      return echo.toString();
    });
    expect(await client.get()).toMatch(/^ping/);
    const mine = (g: Greenlet) => starts.filter((x) => x.greenlet === g).map((x) => x.kind);
    expect(mine(client)).toEqual(expect.arrayContaining(['net.socket', 'net write', 'net read', 'net end']));
    expect(mine(client).filter((k) => k === 'net write')).toHaveLength(1);
    expect(hub.opsOf(server).map((o) => o.kind.name)).toContain('net.server');
    expect(hub.opsOf(server).some((o) => o.kind.name === 'net.socket' && o.data && (o.data as { handle: unknown }).handle === accepted)).toBe(true);
    // Killing the greenlet that listened closes its server and the sockets it accepted.
    const closed = once(srv, 'close');
    await server.kill();
    await closed;
    expect(accepted!.destroyed).toBe(true);
    expect(getCurrent().name).toBe('main');
  });

  it('bad arguments throw exactly as unpatched', () => {
    expect(() => net.connect({} as never)).toThrow(expect.objectContaining({ code: 'ERR_MISSING_ARGS' }));
    const s = new net.Socket();
    expect(() => s.write(42 as never)).toThrow(TypeError);
    s.destroy();
  });
});
