/**
 * node-redis: what greenio keeps per client connection for its blocking commands (which
 * connection it is, the server's id of it, a side connection, its blocking commands in
 * the order they were sent), how a cancelled one is ended on the server (`CLIENT
 * UNBLOCK` from the side connection) and how an item it was handed meanwhile is put
 * back. Limits: see patches/redis.ts (a put-back item is the decoded reply) and
 * redis-common.ts (which pops can be undone).
 */
import type { AnyFunction } from '../src/internal/wrap.js';
import { K_REDIS, restoreCommands, runDetached, unblockLoop, warnLost } from './redis-common.js';

/** A node-redis client (or the proxy its `withCommandOptions` family makes: `_self` is the client). */
export interface Client {
  _self?: Client;
  /** Its default command options (`withCommandOptions`, or createClient's `commandOptions`). */
  _commandOptions?: { timeout?: unknown };
  duplicate(overrides?: object): Client;
  /** Connected and not closing (node-redis 4/5). */
  isReady?: boolean;
  connect(): Promise<unknown>;
  /** Close at once: v5 and v6 (`destroy`), v4 (`disconnect`). */
  destroy?(): void;
  disconnect?(): Promise<unknown>;
  sendCommand(args: unknown[], options?: object): Promise<unknown>;
  on(event: string, fn: (...a: unknown[]) => void): unknown;
  once(event: string, fn: () => void): unknown;
  [kConn]?: ConnInfo;
}

/** What this file needs of a command: patches/redis.ts `CommandOp`. */
export interface Sent {
  readonly client: Client;
  readonly args: readonly unknown[];
  /** node-redis's own `sendCommand`. */
  readonly send: AnyFunction;
  /** True once its reply (or error) arrived. */
  replied: boolean;
  /** The id of the connection it was sent on (blocking commands only). */
  idInfo: IdInfo | null;
}

/** Per client: which connection it is on (counted at each connect) and that one's id. */
interface ConnInfo {
  epoch: number;
  /** Closed for good ('end'): its close unblocked whatever was blocked. */
  ended: boolean;
  /** Its blocking commands awaiting a reply, in the order they were sent. */
  blocking: Set<Sent>;
  id: IdInfo | null;
  side: Promise<Client> | null;
}
export interface IdInfo {
  epoch: number;
  id: number | null;
  ready: Promise<IdInfo>;
}

const kConn = Symbol('greenio.redisConn');

/** A blocking command is being sent on `s.client`'s connection: note it, its connection's id asked first if not known. */
export function sendingBlocking(s: Sent): void {
  s.idInfo = ensureId(s.client, s.send);
  connOf(s.client).blocking.add(s);
}

/** The blocking command `s` replied (or failed): it no longer blocks its connection. */
export function blockingDone(s: Sent): void {
  connOf(s.client).blocking.delete(s);
}

/** End the cancelled blocking command `s` on the server, unless it replied meanwhile. */
export async function unblock(s: Sent): Promise<void> {
  if (s.replied || s.idInfo === null) return;
  const conn = connOf(s.client);
  const info = await s.idInfo.ready;
  // Reconnected or closed: the old connection's close unblocked it (and a side connection
  // made now would outlive the client: its 'end' has passed).
  if (info.id === null || info.epoch !== conn.epoch || conn.ended) return;
  const side = await sideOf(s.client, conn);
  await unblockLoop(
    s,
    info.id,
    // The client closed meanwhile (its side connection goes with it): the close unblocked the command.
    (n) => side.sendCommand(['CLIENT', 'UNBLOCK', String(n)]).catch((e: unknown) => (conn.ended ? 1 : Promise.reject(e))),
    () => !conn.ended && info.epoch === conn.epoch,
    () => conn.blocking.values().next().value === s,
  );
}

/** The reply of the cancelled blocking command `s` reached nobody: put back what it took. */
function putBack(s: Sent, reply: unknown): void {
  const restore = restoreCommands(String(s.args[0]), s.args.slice(1), reply);
  if (restore === null) return;
  const what = String(s.args[0]).toUpperCase();
  const cmds = restore.map((cmd) => cmd.map((a) => (typeof a === 'number' ? String(a) : a)));
  runDetached(() => {
    // The killed greenlet's `finally` often closes its client at once: then the items go
    // back through a short-lived client of greenio's own (the same server and options).
    if (s.client.isReady === false) return restoreElsewhere(s.client, cmds, what, null);
    for (const cmd of cmds) {
      (Reflect.apply(s.send, s.client, [cmd]) as Promise<unknown>).catch((e: unknown) => restoreElsewhere(s.client, [cmd], what, e));
    }
  });
}

/** Send `cmds` in order on a short-lived duplicate of `client`; said, not thrown, if that fails too. */
function restoreElsewhere(client: Client, cmds: unknown[][], what: string, first: unknown): void {
  let tmp: Client;
  try {
    tmp = client.duplicate();
  } catch (e) {
    warnLost(what, first ?? e);
    return;
  }
  tmp.on('error', () => {}); // its failure is said below, as the item's
  void (async () => {
    try {
      await tmp.connect();
      for (const cmd of cmds) await tmp.sendCommand(cmd);
    } catch (e) {
      warnLost(what, e);
    } finally {
      closeNow(tmp);
    }
  })();
}

/** Close a client of greenio's own at once, without QUIT: `destroy()` (v5, v6), or v4's `disconnect()`. */
function closeNow(c: Client): void {
  if (typeof c.destroy === 'function') c.destroy();
  else c.disconnect?.().catch(() => {});
}

function connOf(client: Client): ConnInfo {
  let c = client[kConn];
  if (c === undefined) {
    const made: ConnInfo = { epoch: 0, ended: false, blocking: new Set(), id: null, side: null };
    c = made;
    client[kConn] = made;
    client.on('connect', () => {
      made.epoch++;
      made.id = null;
      made.ended = false;
    });
    client.on('end', () => {
      made.ended = true;
    });
  }
  return c;
}

function sideOf(client: Client, conn: ConnInfo): Promise<Client> {
  if (conn.side === null) {
    const side = client.duplicate();
    side.on('error', () => {}); // its failures show as the unblock's; the client reports its own
    conn.side = side.connect().then(
      () => side,
      (e: unknown) => {
        conn.side = null; // the next cancel tries again
        throw e;
      },
    );
    const made = conn.side;
    client.once('end', () => {
      if (conn.side === made) conn.side = null;
      // Once its connect has settled: destroyed while connecting, it would connect anyway.
      made.then(() => closeNow(side), () => {});
    });
  }
  return conn.side;
}

// The connection's id, asked just before the first blocking command on it (a blocked
// connection cannot be asked): queued ahead of that command, so on the same connection.
function ensureId(client: Client, send: AnyFunction): IdInfo {
  const conn = connOf(client);
  if (conn.id !== null) return conn.id;
  const info: IdInfo = { epoch: conn.epoch, id: null, ready: null as unknown as Promise<IdInfo> };
  const p = runDetached(() => Reflect.apply(send, client, [['CLIENT', 'ID']]) as Promise<unknown>);
  info.ready = p.then(
    (id) => {
      info.id = Number(id);
      info.epoch = conn.epoch;
      return info;
    },
    () => {
      if (conn.id === info) conn.id = null;
      return info;
    },
  );
  conn.id = info;
  return info;
}

/** The late reply of the cancelled blocking command `s`, dropped: counted, and a pop's taken item goes back. */
export function dropLate(s: Sent, reply: unknown): void {
  K_REDIS.dropped++;
  if (reply !== null) putBack(s, reply);
}
