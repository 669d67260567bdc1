import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import * as hub from '../src/hub/index.js';
import { StreamServer } from '../src/server.js';
import { getCurrent, type Greenlet } from '../src/greenlet.js';
import { Event } from '../src/event.js';
import { patchAll, unpatchAll } from '../src/monkey.js';

patchAll({ warnLate: false });
afterAll(() => unpatchAll());

describe('StreamServer under the net patch', () => {
  it('hands each accepted socket to the greenlet serving it, tracked once', async () => {
    const served = new Event();
    let handler!: Greenlet;
    const server = new StreamServer({ host: '127.0.0.1', port: 0 }, async (socket) => {
      handler = getCurrent();
      served.set();
      await once(socket, 'end');
    });
    await server.start();
    const client = connect(server.address!.port, '127.0.0.1');
    await once(client, 'connect');
    await served.wait();
    const sockets = (g: hub.Core) => hub.opsOf(g).filter((op) => op.kind.name === 'net.socket' || op.kind.name === 'server.connection');
    expect(sockets(handler).map((op) => op.kind.name)).toEqual(['net.socket']);
    // The listening greenlet (main) keeps only its client socket, not the accepted one.
    const accepted = hub.opsOf(hub.main).filter((op) => op.kind.name === 'net.socket' && String(op.detail).endsWith(`:${client.localPort}`));
    expect(accepted).toEqual([]);
    client.end();
    await server.stop(1000);
  });
});
