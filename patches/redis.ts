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
 * without it waits on a promise of the hub's, slower. node-redis 4 is not covered: its
 * commands run through a private `#sendCommand`, not `sendCommand`; loading it is warned
 * (`GREENIO_REDIS_V4`) and leaves it unpatched.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { batchRunsWhole, describeCommand, detachedFlow, inDetached, isBlocking, K_REDIS, SENT_RUNS_WHOLE, unblockDetached } from './redis-common.js';
import { blockingDone, dropLate, sendingBlocking, unblock, type Client, type IdInfo, type Sent } from './redis-conn.js';
import { batch, plainWrapper } from './redis-plain.js';
import type { NotedHandler } from './client-ops.js';

const OWNER = 'module:@redis/client/dist/lib/client/index.js';

/**
 * One command in flight: the op's data and (through `describe`) its detail. Kept small:
 * a plain command sent at once needs no more; `Blocking` carries what its unblock and
 * put-back need, `Deferred` what a send on the op's start needs.
 */
class CommandOp {
  replied = false;
  op: hub.Op<unknown> = null as unknown as hub.Op<unknown>;
  constructor(
    readonly args: readonly unknown[],
    readonly blocking: boolean,
  ) {}
  describe(): string {
    return describeCommand(String(this.args[0]), this.args.slice(1));
  }
}

/** A command that can block its connection on the server: ended by `CLIENT UNBLOCK` if cancelled (redis-conn.ts). */
class Blocking extends CommandOp implements Sent {
  idInfo: IdInfo | null = null;
  constructor(
    args: readonly unknown[],
    readonly client: Client,
    /** node-redis's own `sendCommand`. */
    readonly send: AnyFunction,
  ) {
    super(args, true);
  }
}

/** A command sent when its op starts (see `direct`): node-redis's `sendCommand`, the client (or proxy) it was called on, its options. */
class Deferred {
  constructor(
    readonly s: CommandOp,
    readonly send: AnyFunction,
    readonly self: Client,
    readonly options: object | undefined,
  ) {}
}

// Queued or written, a command that does not block is sent and runs (see the header).
const noteOf = (s: CommandOp): string | undefined => (s.blocking ? undefined : SENT_RUNS_WHOLE);
function cancelOf(s: CommandOp): false {
  if (s.blocking) unblockDetached(() => unblock(s as Blocking));
  return false;
}

/** A command sent at once, its op settled from its queue entry (no `start`: the wrapper sends). */
const HANDLER: NotedHandler<unknown> = {
  note: (op) => noteOf(op.data as CommandOp),
  cancel: (op) => cancelOf(op.data as CommandOp),
};

/** A command with a timeout, or PING: sent when the op starts, settled from node-redis's promise. */
const DEFERRED: NotedHandler<unknown> = {
  note: (op) => noteOf((op.data as Deferred).s),
  start(op) {
    const d = op.data as Deferred;
    const s = d.s;
    s.op = op;
    send(s, op.flow, null, d.send, d.self, d.options).then((v) => replied(s, v), (e: unknown) => failed(s, e));
  },
  cancel: (op) => cancelOf((op.data as Deferred).s),
};

function replied(s: CommandOp, v: unknown): void {
  s.replied = true;
  const op = s.op;
  if (s.blocking) {
    blockingDone(s as Blocking);
    if (op.settled) return dropLate(s as Blocking, v);
  }
  if (op.settled) K_REDIS.dropped++;
  else op.resolve(v);
}

function failed(s: CommandOp, e: unknown): void {
  s.replied = true;
  if (s.blocking) blockingDone(s as Blocking);
  s.op.reject(e);
}

function sendCommandWrapper(original: AnyFunction): AnyFunction {
  return ({ sendCommand(this: Client, args: unknown[], options?: object) {
    if (inDetached() || !Array.isArray(args) || args.length === 0) return Reflect.apply(original, this, arguments);
    const client = this._self ?? this;
    const s = isBlocking(String(args[0]), args) ? new Blocking(args, client, original) : new CommandOp(args, false);
    // The command is sent by DEFERRED.start: a pending kill or timeout rejects the wait
    // before that, so the command is never sent (one context read per command, the wait's).
    if (!direct(client, args, options)) return hub.wait(K_REDIS, s, DEFERRED, new Deferred(s, original, this, options));
    // The greenlet awaits node-redis's own promise, whose settlers the op takes from the
    // command's queue entry (see `addWrapper`): no promise of the hub's per command.
    const op = hub.beginWait(K_REDIS, s, HANDLER, s);
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

const OWNER_LIST = 'module:@redis/client/dist/lib/client/linked-list.js';

/**
 * node-redis 4 (@redis/client 1.x, recognised by its `commandsExecutor`) runs its commands
 * through a private `#sendCommand` no wrapper reaches: it is left unpatched, and said so
 * once, because what a kill or timeout then does to a blocking command loses data.
 */
let warnedV4 = false;
function warnV4(): void {
  if (warnedV4) return;
  warnedV4 = true;
  process.emitWarning(
    'greenio does not integrate node-redis 4 (@redis/client 1.x): its commands are no greenlet operations, so a kill or timeout abandons them, ' +
      'and a blocking command (BLPOP, XREAD BLOCK...) stays blocked on the server, where it takes the next item pushed. Use redis 5 or 6.',
    { type: 'GreenioWarning', code: 'GREENIO_REDIS_V4' },
  );
}

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
      if (typeof (proto as { commandsExecutor?: unknown }).commandsExecutor === 'function') return warnV4();
      wrap(proto, 'sendCommand', sendCommandWrapper, OWNER);
      wrap(proto, 'connect', plainWrapper(() => 'CONNECT'), OWNER);
      wrap(proto, '_executeMulti', plainWrapper(batch('MULTI'), batchRunsWhole('MULTI')), OWNER);
      wrap(proto, '_executePipeline', plainWrapper(batch('PIPELINE'), batchRunsWhole('pipeline')), OWNER);
    },
  },
];
