import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, spawn } from '../../src/index.js';
import { disown, patchAll, unpatchAll } from '../../src/monkey.js';

// A socket belongs to the greenlet using it: pooled connections lent to another
// greenlet must survive the death of the greenlet that happened to open them.
let server: http.Server;
let port = 0;
beforeAll(async () => {
  patchAll({ warnLate: false });
  server = http.createServer((req, res) => setTimeout(() => res.end('ok'), req.url === '/slow' ? 200 : 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => {
  server.close();
  unpatchAll();
});

describe('pooled connections', () => {
  it('an http.Agent keep-alive socket reused by greenlet B survives the failure of greenlet A that opened it', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) => new Promise<string>((ok, no) => {
      http.get({ port, host: '127.0.0.1', path, agent }, (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => ok(b));
      }).on('error', no);
    });
    const a = spawn(async () => {
      await get('/fast');
      await sleep(50);
      throw new Error('A fails after its request');
    });
    a.link(() => {});
    const b = spawn(async () => {
      await sleep(10);
      return get('/slow'); // reuses A's pooled socket
    });
    await a.join();
    expect(await b.get()).toBe('ok');
    agent.destroy();
  });

  it('a fetch keep-alive connection reused by greenlet B survives the kill of greenlet A that opened it', async () => {
    const a = spawn(async () => {
      await (await fetch(`http://127.0.0.1:${port}/fast`)).text();
      await sleep(60_000);
    });
    await sleep(50);
    const b = spawn(async () => (await fetch(`http://127.0.0.1:${port}/slow`)).text());
    await sleep(20);
    await a.kill();
    expect(await b.get()).toBe('ok');
  });

  it('disown(handle) lets a hand-made pool lend a connection opened in one greenlet to others', async () => {
    const echo = net.createServer((s) => s.on('data', (d) => s.write(d))).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const pool: net.Socket[] = [];
    const opener = spawn(async () => {
      const s = net.connect((echo.address() as net.AddressInfo).port, '127.0.0.1');
      await once(s, 'connect');
      disown(s); // the pool's, from now on: no greenlet's death closes it
      pool.push(s);
      throw new Error('the opener fails');
    });
    opener.link(() => {});
    await opener.join();
    const user = spawn(async () => {
      const s = pool[0]!;
      s.write('ping');
      const [d] = (await once(s, 'data')) as [Buffer];
      return d.toString();
    });
    expect(await user.get()).toBe('ping');
    pool[0]!.destroy();
    echo.close();
  });
});
