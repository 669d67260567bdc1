/**
 * node-redis (`redis` v5 and v6, `@redis/client`) as greenlet ops, as for ioredis: a command is
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
 * without it waits on a promise of the hub's, slower. node-redis 4, whose commands run
 * through a private `#sendCommand`, is patched at its queue instead (redis4.ts).
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { adoptWriteTimer, batchRunsWhole, isBlocking, isDetached, K_REDIS } from './redis-common.js';
import { sendingBlocking, type Client } from './redis-conn.js';
import { Blocking, CommandOp, cancelOf, failed, noteOf, replied, sentOnStart } from './redis-command.js';
import { batch, plainWrapper } from './redis-plain.js';
import { patchRedis4, patchRedis4Queue, patchRedis4Socket, resetRedis4 } from './redis4.js';
import type { NotedHandler } from './client-ops.js';

const OWNER = 'module:@redis/client/dist/lib/client/index.js';

/** A command sent when its op starts (see `direct`): node-redis's `sendCommand`, the client (or proxy) it was called on, its options. */
class Deferred {
  constructor(
    readonly s: CommandOp,
    readonly send: AnyFunction,
    readonly self: Client,
    readonly options: object | undefined,
  ) {}
}

/** A command sent at once, its op settled from its queue entry (no `start`: the wrapper sends). */
const HANDLER: NotedHandler<unknown> = {
  note: (op) => noteOf(op.data as CommandOp),
  cancel: (op) => cancelOf(op.data as CommandOp),
};

/** A command with a timeout, or PING: sent when the op starts, settled from node-redis's promise. */
const DEFERRED = sentOnStart<Deferred>((d, op) => send(d.s, op.flow, null, d.send, d.self, d.options));

function sendCommandWrapper(original: AnyFunction): AnyFunction {
  return ({ sendCommand(this: Client, args: unknown[], options?: object) {
    // One context read per command: the op's flow is the one read here (each read is a
    // lookup in the context frame's Map).
    const stored = hub.storedFlow();
    if (isDetached(stored) || !Array.isArray(args) || args.length === 0) return Reflect.apply(original, this, arguments);
    const client = this._self ?? this;
    const s = isBlocking(String(args[0]), args) ? new Blocking(args, client, original) : new CommandOp(args, false);
    // The command is sent by DEFERRED.start: a pending kill or timeout rejects the wait
    // before that, so the command is never sent (one context read per command, the wait's).
    if (!direct(client, args, options)) return hub.wait(K_REDIS, s, DEFERRED, new Deferred(s, original, this, options));
    // The greenlet awaits node-redis's own promise, whose settlers the op takes from the
    // command's queue entry (see `addWrapper`): no promise of the hub's per command.
    const op = hub.beginWait(K_REDIS, s, HANDLER, s, stored ?? hub.main);
    if (op instanceof Error) return Promise.reject(op);
    s.op = op;
    let p: Promise<unknown>;
    try {
      p = send(s, op.flow, s, original, this, options);
    } catch (e) {
      op.reject(e);
      throw e;
    }
    if (captured === s) {
      captured = null;
      return p;
    }
    // Refused unqueued (closed, offline, queue full), or a node-redis without the list.
    const own = hub.ownPromise(op);
    p.then((v) => replied(s, v), (e: unknown) => failed(s, e));
    return own;
  } }).sendCommand;
}

/**
 * Send `s` (its op already begun in `flow`) with node-redis's `sendCommand` called on
 * `self`, its queue entry taken by `addWrapper` when `capture` is `s`; returns
 * node-redis's promise.
 */
function send(s: CommandOp, flow: hub.Flow, capture: CommandOp | null, original: AnyFunction, self: Client, options: object | undefined): Promise<unknown> {
  if (s.blocking) sendingBlocking(s as Blocking);
  // node-redis schedules its socket write on an immediate, which must not belong to
  // (and die with) the greenlet that happened to issue the command: the first command
  // of a turn makes it, and it is handed to the client's own flow. (Running every
  // command detached costs an AsyncLocalStorage switch, ~1 µs on Node 24/26.)
  const before = flow.ops;
  const size = before instanceof Set ? before.size : 0;
  capturing = capture;
  let p: Promise<unknown>;
  try {
    p = original.call(self, s.args, options) as Promise<unknown>;
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
/** The last command whose entry `addWrapper` took (a command checks it is the one). */
let captured: CommandOp | null = null;
const kCmd = Symbol('greenio.redisCommand');

interface QueueEntry {
  args?: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  [kCmd]?: CommandOp;
}

function direct(client: Client, args: readonly unknown[], options: object | undefined): boolean {
  const o = options as { timeout?: unknown } | undefined;
  if (o !== undefined && o.timeout !== undefined) return false;
  const dflt = client._commandOptions;
  if (dflt !== undefined && dflt.timeout !== undefined) return false;
  const name = args[0];
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
      captured = s;
    }
    return original.call(this, value, prepend);
  } }).add;
}

const OWNER_LIST = 'module:@redis/client/dist/lib/client/linked-list.js';
const OWNER_QUEUE = 'module:@redis/client/dist/lib/client/commands-queue.js';
const OWNER_SOCKET = 'module:@redis/client/dist/lib/client/socket.js';

/**
 * The node-redis rows: the client class file, which `import`/`require('redis')` load, and
 * its queue's list; for v4, its queue's `addCommand` and its socket's `cork` (redis4.ts).
 */
export const redisPatches: readonly ModulePatch[] = [
  {
    module: '@redis/client/dist/lib/client/commands-queue.js',
    implements: { promise: ['RedisCommandsQueue.prototype.addCommand (node-redis 4)'] },
    patch: (exports) => patchRedis4Queue(exports, OWNER_QUEUE),
    unpatch: resetRedis4,
  },
  {
    module: '@redis/client/dist/lib/client/socket.js',
    implements: { handle: ['RedisSocket.prototype.cork (node-redis 4)'] },
    patch: (exports) => patchRedis4Socket(exports, OWNER_SOCKET),
  },
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
      // node-redis 4 (@redis/client 1.x): its commands bypass `sendCommand` (redis4.ts).
      if (typeof (proto as { commandsExecutor?: unknown }).commandsExecutor === 'function') return patchRedis4(proto, OWNER);
      wrap(proto, 'sendCommand', sendCommandWrapper, OWNER);
      wrap(proto, 'connect', plainWrapper(() => 'CONNECT'), OWNER);
      wrap(proto, '_executeMulti', plainWrapper(batch('MULTI'), batchRunsWhole('MULTI')), OWNER);
      wrap(proto, '_executePipeline', plainWrapper(batch('PIPELINE'), batchRunsWhole('pipeline')), OWNER);
    },
  },
];
