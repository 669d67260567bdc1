/**
 * ioredis as greenlet ops: a command is an op of the greenlet that issues it, whoever
 * opened the connection. A kill or timeout rejects the greenlet's await at once; a
 * blocking command is then ended on the server by `CLIENT UNBLOCK` from a side
 * connection (an item it was handed meanwhile is put back), any other command's late
 * reply is dropped, and a cancelled command is never (re)sent. The client's own
 * machinery (connect, handshake, reconnect) belongs to no greenlet. Limits: a pipeline
 * or MULTI/EXEC runs to completion on the server (only its result is dropped); Cluster
 * is not covered; a reply ioredis fails to transform ends its op as `ok` (the promise
 * rejects): the greenlet awaits ioredis's own promise, settled by ioredis's own resolve.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { batchRunsWhole, describeCommand, inDetached, isBlocking, isDetached, K_REDIS, restoreCommands, runDetached, SENT_RUNS_WHOLE, unblockDetached, unblockLoop, warnLost } from './redis-common.js';
import type { NotedHandler } from './client-ops.js';

// Owners as patches/index.ts names them, so unpatchAll() undoes these wraps.
const OWNER_REDIS = 'module:ioredis/built/Redis.js';
const OWNER_PIPELINE = 'module:ioredis/built/Pipeline.js';

interface Command {
  name: string;
  args: unknown[];
  promise: Promise<unknown>;
  callback?: (err: unknown, value?: unknown) => void;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  initPromise(): void;
  transformReply?(reply: unknown): unknown;
  _clearTimers?(): void;
  [kState]?: CommandOp;
}
type CommandClass = new (name: string, args: unknown[]) => Command;

interface Client {
  status: string;
  stream?: object;
  commandQueue: { length: number; peekBack(): { command: Command } | undefined; peekFront(): { command: Command } | undefined };
  duplicate(override?: object): Client;
  once(event: string, fn: () => void): unknown;
  on(event: string, fn: () => void): unknown;
  disconnect(): void;
  call(...args: unknown[]): Promise<unknown>;
  [kId]?: IdInfo;
  [kSide]?: Client;
}

/** The server's id of one connection of a client, asked once per connection. */
interface IdInfo {
  stream: object | undefined;
  id: number | null;
  pending: boolean;
  ready: Promise<IdInfo>;
}

const kState = Symbol('greenio.redisOp');
const kId = Symbol('greenio.redisClientId');
const kSide = Symbol('greenio.redisSide');

/** One command in flight: the op's data and (through `describe`) its detail. */
class CommandOp {
  written = false;
  replied = false;
  cancelled = false;
  raw: unknown = null;
  stream: object | undefined = undefined;
  idInfo: IdInfo | undefined = undefined;
  /** Its reply is being handed to ioredis's own resolve (see `onReply`). */
  resolving = false;
  op: hub.Op<unknown> | null = null;
  constructor(readonly client: Client, readonly cmd: Command, readonly blocking: boolean, readonly send: AnyFunction) {}
  describe(): string {
    return describeCommand(this.cmd.name, this.cmd.args);
  }
}

// ioredis calls `command.resolve(reply)`/`command.reject(error)`: these settle the op
// straight from its reply handling, and the op settles ioredis's own promise with the
// command's original settlers (hub.adoptSettlers): no promise, closure or hop of greenio's.
function onReply(this: Command, raw: unknown): void {
  const s = this[kState]!;
  if (s.blocking) s.raw = raw; // the raw reply: a put-back keeps binary values exact
  s.replied = true;
  const op = s.op!;
  if (op.settled) return late(s);
  // The adopted resolve is ioredis's own: it transforms the reply, and sends a transform
  // error to `command.reject` (onError below), which must then reach the promise itself.
  s.resolving = true;
  op.resolve(raw);
}

function onError(this: Command, e: unknown): void {
  this._clearTimers!();
  const s = this[kState]!;
  s.replied = true;
  const op = s.op!;
  if (!op.settled) op.reject(e);
  else if (s.resolving) op.rej!(e);
}

const HANDLER: NotedHandler<unknown> = {
  // Unsent (offline queue): never sent. Blocking: CLIENT UNBLOCK ends it. Else it runs.
  note(op) {
    const s = op.data as CommandOp;
    return s.written && !s.blocking && !s.replied ? SENT_RUNS_WHOLE : undefined;
  },
  cancel(op) {
    const s = op.data as CommandOp;
    s.cancelled = true;
    if (s.blocking && s.written && !s.replied) unblockDetached(() => unblock(s));
    return false;
  },
};

// The reply of a cancelled command reached nobody: drop it, and give back an item a
// blocking pop took (the raw reply keeps binary values exact).
function late(s: CommandOp): void {
  K_REDIS.dropped++;
  if (!s.blocking || s.raw === null) return;
  const restore = restoreCommands(s.cmd.name, s.cmd.args, s.raw);
  if (restore === null) return;
  const Cmd = s.cmd.constructor as CommandClass;
  const what = s.cmd.name.toUpperCase();
  runDetached(() => {
    // The killed greenlet's `finally` often closes its connection at once: then the item
    // goes back through a connection of greenio's own (the same server and options).
    const own = s.client.status === 'ready';
    for (const [name, ...args] of restore) {
      if (!own) {
        restoreElsewhere(s.client, name as string, args, what, null);
        continue;
      }
      const c = new Cmd(name as string, args);
      c.promise.catch((e: unknown) => restoreElsewhere(s.client, name as string, args, what, e));
      Reflect.apply(s.send, s.client, [c]);
    }
  });
}

/** Put an item back through a short-lived duplicate of `client`; said, not thrown, if that fails too. */
function restoreElsewhere(client: Client, name: string, args: unknown[], what: string, first: unknown): void {
  let tmp: Client;
  try {
    tmp = client.duplicate({ lazyConnect: false, enableOfflineQueue: true, connectionName: undefined, maxRetriesPerRequest: 2 });
  } catch (e) {
    warnLost(what, first ?? e);
    return;
  }
  tmp.on('error', () => {});
  tmp.call(name, ...args).then(
    () => tmp.disconnect(),
    (e: unknown) => {
      tmp.disconnect();
      warnLost(what, e);
    },
  );
}

async function unblock(s: CommandOp): Promise<void> {
  const info = s.idInfo;
  if (info === undefined) return;
  const { id, stream } = await info.ready;
  // Another connection than the command's: that one closed, which unblocked it.
  if (id === null || stream !== s.stream) return;
  const side = sideOf(s.client);
  await unblockLoop(
    s,
    id,
    (n) => side.call('client', 'unblock', String(n)),
    () => s.client.stream === s.stream && s.client.status !== 'end',
    () => s.client.commandQueue.peekFront()?.command === s.cmd,
  );
}

// One side connection per client, opened at its first cancelled blocking command and
// closed with the client.
function sideOf(client: Client): Client {
  let side = client[kSide];
  if (side === undefined || side.status === 'end') {
    const made = client.duplicate({ lazyConnect: false, enableOfflineQueue: true, connectionName: undefined });
    side = made;
    client[kSide] = made;
    made.on('error', () => {}); // its failures show as the unblock's; the client reports its own
    client.once('end', () => made.disconnect());
  }
  return side;
}

// Ask the connection its id before its first blocking command (a blocked connection
// cannot be asked), and again after a reconnect: queued ahead of the command.
function ensureId(client: Client, send: AnyFunction, Cmd: CommandClass): IdInfo {
  const cur = client[kId];
  if (cur !== undefined && (cur.pending || (cur.stream !== undefined && cur.stream === client.stream))) return cur;
  const c = new Cmd('client', ['id']);
  const info: IdInfo = { stream: undefined, id: null, pending: true, ready: null as unknown as Promise<IdInfo> };
  info.ready = c.promise.then(
    (id) => {
      info.id = Number(id);
      info.stream = client.stream;
      info.pending = false;
      return info;
    },
    () => {
      info.pending = false;
      if (client[kId] === info) client[kId] = undefined;
      return info;
    },
  );
  client[kId] = info;
  runDetached(() => Reflect.apply(send, client, [c]));
  return info;
}

function write(client: Client, original: AnyFunction, s: CommandOp): void {
  if (s.blocking) s.idInfo = ensureId(client, original, s.cmd.constructor as CommandClass);
  original.call(client, s.cmd);
  if (client.commandQueue.peekBack()?.command === s.cmd) {
    s.written = true;
    s.stream = client.stream;
  }
}

function sendCommandWrapper(original: AnyFunction): AnyFunction {
  return ({ sendCommand(this: Client, command: Command, stream?: unknown) {
    const known = command?.[kState];
    // Re-sent from the offline queue or after a reconnect: never for a cancelled command.
    if (known !== undefined) {
      if (!known.cancelled) write(this, original, known);
      return command.promise;
    }
    // Pipelines (a `stream`), the client's own commands, and anything odd pass through.
    // One context read per command: the op's flow is the one read here.
    const stored = hub.storedFlow();
    if (stream !== undefined || typeof command?.name !== 'string' || isDetached(stored)) return Reflect.apply(original, this, arguments);
    const cb = command.callback;
    const s = new CommandOp(this, command, isBlocking(command.name, command.args), original);
    command[kState] = s;
    if (cb !== undefined) {
      // The callback is called through the op (a cancelled command's never is).
      command.callback = undefined;
      command.initPromise();
    }
    const p = start(s, stored ?? hub.main);
    if (cb !== undefined) {
      p.then((v) => cb(null, v), (e: unknown) => cb(e)).catch((e: unknown) => process.nextTick(() => { throw e; }));
    }
    return p;
  } }).sendCommand;
}

/** Begin `s`'s op and send it; the promise the caller awaits (ioredis's own, the op holding its settlers). */
function start(s: CommandOp, flow: hub.Flow): Promise<unknown> {
  const op = hub.beginWait(K_REDIS, s, HANDLER, s, flow);
  // A pending kill or timeout rejects at once: the command is never sent.
  if (op instanceof Error) return Promise.reject(op);
  s.op = op;
  const cmd = s.cmd;
  let p: Promise<unknown>;
  // Set before the write: ioredis may fail a command at once.
  if (typeof cmd.transformReply === 'function' && typeof cmd._clearTimers === 'function') {
    hub.adoptSettlers(op, cmd.resolve, cmd.reject);
    cmd.resolve = onReply;
    cmd.reject = onError;
    p = cmd.promise;
  } else {
    p = hub.ownPromise(op);
    cmd.promise.then(
      (v) => {
        s.replied = true;
        if (op.settled) late(s);
        else op.resolve(v);
      },
      (e: unknown) => {
        s.replied = true;
        op.reject(e);
      },
    );
  }
  try {
    write(s.client, s.send, s);
  } catch (e) {
    op.reject(e);
  }
  return p;
}

// Connecting (and every reconnect, handshake and event the socket emits) belongs to no
// greenlet: the connection outlives whoever caused it to open.
function connectWrapper(original: AnyFunction): AnyFunction {
  return ({ connect(this: Client) {
    const args = arguments;
    return runDetached(() => Reflect.apply(original, this, args));
  } }).connect;
}

interface Pipeline {
  _queue: Command[];
}

class PipelineOp {
  constructor(readonly queue: readonly Command[]) {}
  describe(): string {
    const q = this.queue;
    const multi = q.length > 0 && q[0]!.name.toLowerCase() === 'multi';
    let out = `${multi ? 'MULTI' : 'PIPELINE'} ${multi ? Math.max(q.length - 2, 0) : q.length}:`;
    for (let i = multi ? 1 : 0; i < q.length && out.length < 80; i++) out += ` ${describeCommand(q[i]!.name, q[i]!.args)};`;
    return out.length > 80 ? `${out.slice(0, 79)}…` : out;
  }
}

const PIPELINE: NotedHandler<unknown> = {
  note: (op) => batchRunsWhole((op.data as PipelineOp).describe().startsWith('MULTI') ? 'MULTI' : 'pipeline'),
  start(op) {
    (op.data as { p: Promise<unknown> }).p.then((v) => op.resolve(v), (e: unknown) => op.reject(e));
  },
};

// A pipeline (or MULTI) awaited by a greenlet is its op; it cannot be stopped on the
// server, so a cancel only drops the result. With a callback (ioredis's own
// auto-pipelining), it is left alone.
function execWrapper(original: AnyFunction): AnyFunction {
  return ({ exec(this: Pipeline, callback?: unknown) {
    if (callback !== undefined || inDetached()) return Reflect.apply(original, this, arguments);
    const pending = hub.pendingInterrupt();
    if (pending !== null) return Promise.reject(pending);
    const d = new PipelineOp([...this._queue]);
    const p = Reflect.apply(original, this, arguments) as unknown;
    if (!(p instanceof Promise)) return p;
    return hub.wait(K_REDIS, d, PIPELINE, Object.assign(d, { p }));
  } }).exec;
}

/** The ioredis rows: named by the files ES-module imports and `require` both load. */
export const ioredisPatches: readonly ModulePatch[] = [
  {
    module: 'ioredis/built/Redis.js',
    implements: { promise: ['Redis.prototype.sendCommand'], handle: ['Redis.prototype.connect'] },
    patch(exports) {
      const Redis = (exports as { default?: { prototype: object } }).default;
      if (Redis === undefined) return;
      wrap(Redis.prototype, 'sendCommand', sendCommandWrapper, OWNER_REDIS);
      wrap(Redis.prototype, 'connect', connectWrapper, OWNER_REDIS);
    },
  },
  {
    module: 'ioredis/built/Pipeline.js',
    implements: { promise: ['Pipeline.prototype.exec'] },
    patch(exports) {
      const Pipeline = (exports as { default?: { prototype: object } }).default;
      if (Pipeline !== undefined) wrap(Pipeline.prototype, 'exec', execWrapper, OWNER_PIPELINE);
    },
  },
];
