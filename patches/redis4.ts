/**
 * node-redis 4 (`redis` 4, `@redis/client` 1.x) as greenlet ops, as v5 and v6 are
 * (patches/redis.ts): a command is an op of the greenlet that issues it; a kill or timeout
 * rejects its await at once, a blocking command is ended by `CLIENT UNBLOCK` from a side
 * connection (an item it was handed meanwhile is put back), any other late reply is
 * dropped; connecting, closing and MULTI run detached, awaited as ops, and the immediate
 * of the socket's `cork()`, which writes the turn's commands, is the client's own. v4 runs every command
 * through a private `#sendCommand`, so the op is made where that hands the command to its
 * queue (`RedisCommandsQueue.prototype.addCommand`, which only v4's queue has with
 * `getCommandToSend`), with the raw arguments and the raw reply; the client a blocking
 * command belongs to (for its unblock) is noted by the methods that send it (`blPop`,
 * `BLPOP`, `xRead`..., `sendCommand`) for the synchronous part of their call. Limits: in
 * legacy mode (`legacyMode: true`) and through a module's or script's executor, a blocking
 * command is not unblocked on the server (its op is still killed on time);
 * pub/sub commands are not ops; a command waits on a promise of the hub's (v4 has no queue
 * entry to take the settlers of): +0.5 to +1.2 µs of CPU a command, against v5's +0.3 to +0.6 µs.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import { adoptWriteTimer, batchRunsWhole, inDetached, isBlocking, K_REDIS } from './redis-common.js';
import { sendingBlocking, type Client } from './redis-conn.js';
import { Blocking, CommandOp, sentOnStart } from './redis-command.js';
import { batch, plainWrapper } from './redis-plain.js';

/** The client (and its own public `sendCommand`) whose command is being handed to its queue now. */
interface Sender {
  client: Client;
  send: AnyFunction;
}
let current: Sender | null = null;
const BLOCKING_METHODS = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'bzpopmin', 'bzpopmax', 'blmpop', 'bzmpop', 'wait', 'waitaof', 'xread', 'xreadgroup']);

/** One command handed to the queue: what the op's start needs to add it there. */
class Queued {
  constructor(
    readonly s: CommandOp,
    readonly add: AnyFunction,
    readonly queue: object,
    readonly options: unknown,
  ) {}
}

const ADDED = sentOnStart<Queued>((q) => {
  // Its CLIENT ID first (queued ahead of it, on the same connection), if not known.
  if (q.s.blocking) sendingBlocking(q.s as Blocking);
  return q.add.call(q.queue, q.s.args, q.options) as Promise<unknown>;
});

/** `RedisCommandsQueue.prototype.addCommand(args, options)`: the command becomes a wait of the caller's flow. */
function addCommandWrapper(original: AnyFunction): AnyFunction {
  return ({ addCommand(this: object, args: unknown, options?: unknown) {
    const sender = current;
    current = null;
    if (inDetached() || !Array.isArray(args) || args.length === 0) return Reflect.apply(original, this, arguments);
    const s = sender !== null && isBlocking(String(args[0]), args) ? new Blocking(args, sender.client, sender.send) : new CommandOp(args, false);
    return hub.wait(K_REDIS, s, ADDED, new Queued(s, original, this, options));
  } }).addCommand;
}

/**
 * A public method that sends through `#sendCommand`: notes its client, and that client's
 * own original `sendCommand` (`send`: greenio's CLIENT ID, side connection and put-backs go
 * through it; per copy of node-redis, whose private fields are its own), for the queue's
 * `addCommand`.
 */
function senderWrapper(send: AnyFunction): (original: AnyFunction) => AnyFunction {
  return (original) => ({ wrapper(this: Client) {
    if (inDetached()) return Reflect.apply(original, this, arguments);
    current = { client: this, send };
    try {
      return Reflect.apply(original, this, arguments) as unknown;
    } finally {
      current = null;
    }
  } }).wrapper;
}

/** Patch node-redis 4's client class (the `@redis/client` index row calls this for v4). */
export function patchRedis4(proto: object, owner: string): void {
  const send = (proto as { sendCommand?: unknown }).sendCommand;
  if (typeof send !== 'function') return;
  // The command methods call the executor v4 captured when it built them (not the
  // prototype's), so the client of a blocking command is noted by its own methods (`blPop`
  // and `BLPOP`...), and by `sendCommand`; other commands need no client.
  for (const name of Object.getOwnPropertyNames(proto)) {
    if ((name === 'sendCommand' || BLOCKING_METHODS.has(name.toLowerCase())) && typeof (proto as Record<string, unknown>)[name] === 'function') {
      wrap(proto, name, senderWrapper(send as AnyFunction), owner);
    }
  }
  wrap(proto, 'connect', plainWrapper(() => 'CONNECT'), owner);
  // Closing runs detached too: QUIT is queued as any command, and a greenlet's `finally`
  // that quits after its kill must still close the connection (else it and greenio's side
  // connection stay open).
  for (const name of ['QUIT', 'quit', 'disconnect']) {
    if (Object.prototype.hasOwnProperty.call(proto, name) && typeof (proto as Record<string, unknown>)[name] === 'function') {
      wrap(proto, name, plainWrapper(() => name.toUpperCase()), owner);
    }
  }
  if (typeof (proto as { multiExecutor?: unknown }).multiExecutor === 'function') {
    wrap(proto, 'multiExecutor', plainWrapper(batch('MULTI'), batchRunsWhole('MULTI')), owner);
  }
}

/** Patch v4's queue class; v5's and v6's (no `getCommandToSend`) are left alone. */
export function patchRedis4Queue(exports: unknown, owner: string): void {
  const Queue = (exports as { default?: { prototype: Record<string, unknown> } } | null)?.default;
  if (Queue === undefined || typeof Queue.prototype.getCommandToSend !== 'function' || typeof Queue.prototype.addCommand !== 'function') return;
  wrap(Queue.prototype, 'addCommand', addCommandWrapper, owner);
}

/**
 * Patch v4's socket: `cork()` schedules the uncork that writes the corked commands on an
 * immediate, which must not belong to (and be cleared with) the greenlet whose command
 * corked it: it is handed to the client's own flow, as v5's write is (redis-common.ts
 * `adoptWriteTimer`). v5's and v6's sockets (no `writeCommand`) are left alone.
 */
export function patchRedis4Socket(exports: unknown, owner: string): void {
  const Socket = (exports as { default?: { prototype: Record<string, unknown> } } | null)?.default;
  if (Socket === undefined || typeof Socket.prototype.writeCommand !== 'function' || typeof Socket.prototype.cork !== 'function') return;
  wrap(Socket.prototype, 'cork', (original) => ({ cork(this: unknown) {
    const flow = hub.storedFlow();
    if (flow === undefined || inDetached()) return original.call(this);
    const before = flow.ops;
    const size = before instanceof Set ? before.size : 0;
    const r: unknown = original.call(this);
    if (flow.ops !== before || (before instanceof Set && before.size !== size)) adoptWriteTimer(flow, before, size);
    return r;
  } }).cork, owner);
}

/** What unpatchAll() must forget. */
export function resetRedis4(): void {
  current = null;
}
