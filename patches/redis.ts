/**
 * node-redis (`redis` v5, `@redis/client`) as greenlet ops, as for ioredis: a command is
 * an op of the greenlet that issues it; a kill or timeout rejects its await at once, a
 * blocking command is ended by `CLIENT UNBLOCK` from a side connection (an item it was
 * handed meanwhile is put back, through a short-lived client of greenio's own when the
 * command's client is closing), any other late reply is dropped. Connecting and the
 * client's write scheduling belong to no greenlet. Limits: a command queued but not yet
 * written (node-redis writes on the next turn, or after a reconnect) is still sent: its
 * AbortSignal path corrupts node-redis's queue when two queued commands are withdrawn in
 * turn; MULTI and pipelines run whole on the server (only the result is dropped); a
 * put-back item is the decoded reply (strings unless blob strings map to Buffers). A
 * command's op holds node-redis's own promise's settlers, taken with its queue entry from
 * node-redis's internal list (`DoublyLinkedList.add`, hub.adoptSettlers): a version
 * without it waits on a promise of the hub's, slower. node-redis 4 is not covered: its
 * commands run through a private `#sendCommand`, not `sendCommand`.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { batchRunsWhole, describeCommand, detachedFlow, inDetached, isBlocking, K_REDIS, restoreCommands, runDetached, SENT_RUNS_WHOLE, unblockDetached, unblockLoop, warnLost } from './redis-common.js';
import type { NotedHandler } from './client-ops.js';

const OWNER = 'module:@redis/client/dist/lib/client/index.js';

interface Client {
  _self?: Client;
  duplicate(overrides?: object): Client;
  /** Connected and not closing (node-redis 4/5). */
  isReady?: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  sendCommand(args: unknown[], options?: object): Promise<unknown>;
  on(event: string, fn: (...a: unknown[]) => void): unknown;
  once(event: string, fn: () => void): unknown;
  [kConn]?: ConnInfo;
}

/** Per client: which connection it is on (counted at each connect) and that one's id. */
interface ConnInfo {
  epoch: number;
  /** Closed for good ('end'): its close unblocked whatever was blocked. */
  ended: boolean;
  /** Its blocking commands awaiting a reply, in the order they were sent. */
  blocking: Set<CommandOp>;
  id: IdInfo | null;
  side: Promise<Client> | null;
}
interface IdInfo {
  epoch: number;
  id: number | null;
  ready: Promise<IdInfo>;
}

const kConn = Symbol('greenio.redisConn');

class CommandOp {
  replied = false;
  op: hub.Op<unknown> = null as unknown as hub.Op<unknown>;
  idInfo: IdInfo | null = null;
  /** True once its queue entry settles the op and the op node-redis's promise (see `addWrapper`). */
  entry = false;
  constructor(
    readonly client: Client,
    readonly args: readonly unknown[],
    readonly blocking: boolean,
    readonly send: AnyFunction,
    /** The client (or the proxy node-redis made) sendCommand was called on, and its options. */
    readonly self: Client,
    readonly options: object | undefined,
  ) {}
  describe(): string {
    return describeCommand(String(this.args[0]), this.args.slice(1));
  }
}

const HANDLER: NotedHandler<unknown> = {
  // Queued or written, a command that does not block is sent and runs (see the header).
  note: (op) => ((op.data as CommandOp).blocking ? undefined : SENT_RUNS_WHOLE),
  start(op) {
    const s = op.data as CommandOp;
    s.op = op;
    // A command with a timeout, or PING: settled from node-redis's promise.
    send(s, op.flow, null).then((v) => replied(s, v), (e: unknown) => failed(s, e));
  },
  cancel(op) {
    const s = op.data as CommandOp;
    if (s.blocking) unblockDetached(() => unblock(s));
    return false;
  },
};

function replied(s: CommandOp, v: unknown): void {
  s.replied = true;
  if (s.blocking) connOf(s.client).blocking.delete(s);
  if (s.op.settled) late(s, v);
  else s.op.resolve(v);
}

function failed(s: CommandOp, e: unknown): void {
  s.replied = true;
  if (s.blocking) connOf(s.client).blocking.delete(s);
  s.op.reject(e);
}

function late(s: CommandOp, reply: unknown): void {
  K_REDIS.dropped++;
  if (!s.blocking || reply === null) return;
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
      tmp.destroy();
    }
  })();
}

async function unblock(s: CommandOp): Promise<void> {
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
      made.then(() => side.destroy(), () => {});
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

function sendCommandWrapper(original: AnyFunction): AnyFunction {
  return ({ sendCommand(this: Client, args: unknown[], options?: object) {
    if (inDetached() || !Array.isArray(args) || args.length === 0) return Reflect.apply(original, this, arguments);
    const s = new CommandOp(this._self ?? this, args, isBlocking(String(args[0]), args), original, this, options);
    // The command is sent by HANDLER.start: a pending kill or timeout rejects the wait
    // before that, so the command is never sent (one context read per command, the wait's).
    if (!direct(s)) return hub.wait(K_REDIS, s, HANDLER, s);
    // The greenlet awaits node-redis's own promise, whose settlers the op takes from the
    // command's queue entry (see `addWrapper`): no promise of the hub's per command.
    const op = hub.beginWait(K_REDIS, s, HANDLER, s);
    if (op instanceof Error) return Promise.reject(op);
    s.op = op;
    let p: Promise<unknown>;
    try {
      p = send(s, op.flow, s);
    } catch (e) {
      op.reject(e);
      throw e;
    }
    if (s.entry) return p;
    // Refused unqueued (closed, offline, queue full), or a node-redis without the list.
    const own = hub.ownPromise(op);
    p.then((v) => replied(s, v), (e: unknown) => failed(s, e));
    return own;
  } }).sendCommand;
}

/**
 * Send `s` (its op already begun in `flow`), its queue entry taken by `addWrapper` when
 * `capture` is `s`; returns node-redis's promise.
 */
function send(s: CommandOp, flow: hub.Flow, capture: CommandOp | null): Promise<unknown> {
  if (s.blocking) {
    s.idInfo = ensureId(s.client, s.send);
    connOf(s.client).blocking.add(s);
  }
  // node-redis schedules its socket write on an immediate, which must not belong to
  // (and die with) the greenlet that happened to issue the command: the first command
  // of a turn makes it, and it is handed to the client's own flow. (Running every
  // command detached costs an AsyncLocalStorage switch, ~1 µs on Node 24/26.)
  const before = flow.ops;
  const size = before instanceof Set ? before.size : 0;
  capturing = capture;
  let p: Promise<unknown>;
  try {
    p = s.send.call(s.self, s.args, s.options) as Promise<unknown>;
  } finally {
    capturing = null; // still set: node-redis refused the command unqueued (its promise says why)
  }
  if (flow.ops !== before || (before instanceof Set && before.size !== size)) adoptWriteTimer(flow, before, size);
  return p;
}

// The op is settled straight from node-redis's queue entry (its `resolve`/`reject`,
// called as methods of the entry) and settles node-redis's promise with the entry's own
// settlers (hub.adoptSettlers): no closure, promise or microtask of greenio's per command.
// Not for a command with a `timeout` (node-redis may reject its promise without the entry
// when the timeout is invalid) nor PING (RESP2 pub/sub mode calls a PING's `resolve`
// detached from its entry): those wait on a promise of the hub's, settled from node-redis's.
let capturing: CommandOp | null = null;
const kCmd = Symbol('greenio.redisCommand');

interface QueueEntry {
  args?: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  [kCmd]?: CommandOp;
}

function direct(s: CommandOp): boolean {
  const o = s.options as { timeout?: unknown } | undefined;
  if (o !== undefined && o.timeout !== undefined) return false;
  const dflt = (s.client as { _commandOptions?: { timeout?: unknown } })._commandOptions;
  if (dflt !== undefined && dflt.timeout !== undefined) return false;
  const name = s.args[0];
  return !(typeof name === 'string' && name.length === 4 && name.toLowerCase() === 'ping');
}

function entryResolve(this: QueueEntry, v: unknown): void {
  replied(this[kCmd]!, v);
}
function entryReject(this: QueueEntry, e: unknown): void {
  failed(this[kCmd]!, e);
}

/** node-redis's queue (a DoublyLinkedList) takes the command being sent: take its entry. */
function addWrapper(original: AnyFunction): AnyFunction {
  return ({ add(this: unknown, value: QueueEntry, prepend?: boolean) {
    const s = capturing;
    if (s !== null && value !== null && typeof value === 'object' && value.args === s.args && typeof value.resolve === 'function') {
      capturing = null;
      hub.adoptSettlers(s.op, value.resolve, value.reject);
      value[kCmd] = s;
      value.resolve = entryResolve;
      value.reject = entryReject;
      s.entry = true;
    }
    return original.call(this, value, prepend);
  } }).add;
}

/** Hand the immediate(s) `flow` gained during a sendCommand (node-redis's write) to the client's own flow. */
function adoptWriteTimer(flow: hub.Flow, before: hub.Flow['ops'], size: number): void {
  const now = flow.ops;
  if (now === null) return;
  let fresh: hub.AnyOp[];
  if (!(now instanceof Set)) fresh = now === before ? [] : [now];
  else if (before instanceof Set && now === before) fresh = [...now].slice(size);
  else fresh = [...now].filter((op) => op !== before);
  for (const op of fresh) if (op.kind.name === 'immediate') hub.adopt(op, detachedFlow());
}

class Waited {
  constructor(readonly what: string, readonly p: Promise<unknown>, readonly note: string | undefined) {}
  describe(): string {
    return this.what;
  }
}

const PLAIN: NotedHandler<unknown> = {
  note: (op) => (op.data as Waited).note,
  start(op) {
    (op.data as Waited).p.then((v) => op.resolve(v), (e: unknown) => op.reject(e));
  },
};

// connect(), MULTI and pipelines: run detached, awaited as an op whose cancel only drops
// the result (a connection opened keeps opening; a MULTI runs whole on the server).
function plainWrapper(what: (args: IArguments) => string, note?: string): (original: AnyFunction) => AnyFunction {
  return (original) =>
    ({ wrapper(this: unknown) {
      const args = arguments;
      if (inDetached()) return Reflect.apply(original, this, args);
      const pending = hub.pendingInterrupt();
      if (pending !== null) return Promise.reject(pending);
      const p = runDetached(() => Reflect.apply(original, this, args) as unknown);
      if (!(p instanceof Promise)) return p;
      const w = new Waited(what(args), p, note);
      return hub.wait(K_REDIS, w, PLAIN, w);
    } }).wrapper;
}

function batch(kind: string): (args: IArguments) => string {
  return (args) => {
    const cmds = (Array.isArray(args[0]) ? args[0] : []) as Array<{ args?: unknown[] }>;
    let out = `${kind} ${cmds.length}:`;
    for (const c of cmds) {
      if (out.length >= 80) break;
      const a = Array.isArray(c?.args) ? c.args : [];
      out += ` ${describeCommand(String(a[0] ?? '?'), a.slice(1))};`;
    }
    return out.length > 80 ? `${out.slice(0, 79)}…` : out;
  };
}

const OWNER_LIST = 'module:@redis/client/dist/lib/client/linked-list.js';

/** The node-redis rows: the client class file, which `import`/`require('redis')` load, and its queue's list. */
export const redisPatches: readonly ModulePatch[] = [
  {
    module: '@redis/client/dist/lib/client/linked-list.js',
    implements: { sync: ['DoublyLinkedList.prototype.add'] },
    patch(exports) {
      const List = (exports as { DoublyLinkedList?: { prototype: object } }).DoublyLinkedList;
      if (List !== undefined && typeof (List.prototype as { add?: unknown }).add === 'function') wrap(List.prototype, 'add', addWrapper, OWNER_LIST);
    },
  },
  {
    module: '@redis/client/dist/lib/client/index.js',
    implements: { promise: ['RedisClient.prototype.sendCommand', 'RedisClient.prototype.connect', 'RedisClient.prototype._executeMulti', 'RedisClient.prototype._executePipeline'] },
    patch(exports) {
      const RedisClient = (exports as { default?: { prototype: object } }).default;
      if (RedisClient === undefined) return;
      const proto = RedisClient.prototype;
      wrap(proto, 'sendCommand', sendCommandWrapper, OWNER);
      wrap(proto, 'connect', plainWrapper(() => 'CONNECT'), OWNER);
      wrap(proto, '_executeMulti', plainWrapper(batch('MULTI'), batchRunsWhole('MULTI')), OWNER);
      wrap(proto, '_executePipeline', plainWrapper(batch('PIPELINE'), batchRunsWhole('pipeline')), OWNER);
    },
  },
];
