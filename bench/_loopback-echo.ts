// The loopback TCP echo the tracing benches drive: a `net` server on 127.0.0.1 (port 0)
// that writes back what it reads, and one client doing `trips` round trips of `payload`,
// each awaited (`once(sock, 'data')` until the whole payload came back). Plain Node: the
// caller spawns the clients in greenlets (or not) and patches (or not).
import { once } from 'node:events';
import net from 'node:net';

export const PAYLOAD = Buffer.alloc(64, 7);

export async function startEchoServer(): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('data', (d) => sock.write(d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, server };
}

/** `close`: how the client leaves once done: `destroy` (default) or `end` (a FIN the server sees, as patch-echo's did). */
export async function echoClient(port: number, trips: number, payload: Buffer = PAYLOAD, close: 'destroy' | 'end' = 'destroy'): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await once(sock, 'connect');
  for (let i = 0; i < trips; i++) {
    sock.write(payload);
    let got = 0;
    while (got < payload.length) got += ((await once(sock, 'data')) as [Buffer])[0].length;
  }
  if (close === 'end') sock.end();
  else sock.destroy();
}
