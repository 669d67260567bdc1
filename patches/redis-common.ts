/**
 * What the Redis integrations (ioredis, node-redis) share: the `redis` kind and how a
 * command is named (never a value), which commands block, the detached flow a client's
 * own machinery runs in, the `CLIENT UNBLOCK` loop, and how an item a cancelled blocking
 * pop was handed is put back. Limit: the put-back knows the list and sorted-set pops
 * (RESP2 array replies); BLMOVE/BRPOPLPUSH leave the item in their destination list.
 */
import * as hub from '../src/hub/index.js';
import { originalSetTimeout } from '../src/internal/originals.js';
import { notCancelled } from './client-ops.js';

/** The kind of every Redis command op: `redis BLPOP jobs 0`. */
export const K_REDIS = hub.kind('redis');

const MAX_DETAIL = 80;
// Commands whose first argument is a subcommand, shown instead of a key.
const CONTAINERS = new Set(['client', 'config', 'acl', 'xgroup', 'xinfo', 'object', 'memory', 'script', 'function', 'cluster', 'command', 'pubsub', 'latency', 'module', 'slowlog', 'debug']);
// Commands whose arguments may hold secrets or code: only the name is shown.
const NAME_ONLY = new Set(['auth', 'hello', 'migrate', 'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro', 'echo']);
const ALWAYS_BLOCKING = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'bzpopmin', 'bzpopmax', 'blmpop', 'bzmpop', 'wait', 'waitaof']);

function argText(a: unknown): string {
  if (typeof a === 'string') return a;
  if (typeof a === 'number' || typeof a === 'bigint') return String(a);
  if (a instanceof Uint8Array) return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('latin1');
  return '?';
}

/**
 * A command's name for run-info, stats and traces. The rule: the command in capitals
 * and its first argument (the key, or a subcommand such as `CLIENT UNBLOCK`); for a
 * blocking command every argument (keys, stream ids, options and the timeout: none is a
 * value); for AUTH, HELLO, EVAL and the like the name alone. Cut to ~80 characters.
 */
export function describeCommand(name: string, args: readonly unknown[]): string {
  const lower = name.toLowerCase();
  let out = name.toUpperCase();
  if (NAME_ONLY.has(lower) || args.length === 0) return out;
  if (isBlocking(lower, args)) {
    for (const a of args) {
      out += ` ${argText(a)}`;
      if (out.length > MAX_DETAIL) break;
    }
  } else {
    out += ` ${CONTAINERS.has(lower) ? argText(args[0]).toUpperCase() : argText(args[0])}`;
  }
  return out.length > MAX_DETAIL ? `${out.slice(0, MAX_DETAIL - 1)}…` : out;
}

/** True if the command can block the connection on the server (XREAD only with BLOCK). */
export function isBlocking(name: string, args: readonly unknown[]): boolean {
  const c = name.charCodeAt(0) | 32;
  // Cheap first: every blocking command starts with b, w or x.
  if (c !== 98 && c !== 119 && c !== 120) return false;
  const lower = name.toLowerCase();
  if (ALWAYS_BLOCKING.has(lower)) return true;
  if (lower !== 'xread' && lower !== 'xreadgroup') return false;
  for (const a of args) {
    const t = argText(a).toLowerCase();
    if (t === 'block') return true;
    if (t === 'streams') return false;
  }
  return false;
}

/**
 * The commands that undo what a blocking pop did when its reply reached nobody (its
 * greenlet was killed after the server handed it an item): the item goes back where it
 * was taken, at the same end. Null when nothing was taken or nothing can be undone.
 */
export function restoreCommands(name: string, args: readonly unknown[], reply: unknown): unknown[][] | null {
  if (!Array.isArray(reply) || reply.length < 2) return null;
  const lower = name.toLowerCase();
  const [key, second] = reply as [unknown, unknown, unknown];
  switch (lower) {
    case 'blpop':
      return [['lpush', key, second]];
    case 'brpop':
      return [['rpush', key, second]];
    case 'bzpopmin':
    case 'bzpopmax':
      return reply.length >= 3 ? [['zadd', key, reply[2], second]] : null;
    case 'blmpop': {
      if (!Array.isArray(second)) return null;
      const n = Number(argText(args[1]));
      const dir = argText(args[2 + n]).toLowerCase();
      // Popped v1, v2 from an end: pushing v2 then v1 back at that end restores the order.
      return [[dir === 'left' ? 'lpush' : 'rpush', key, ...[...(second as unknown[])].reverse()]];
    }
    case 'bzmpop': {
      if (!Array.isArray(second)) return null;
      const pairs: unknown[] = [];
      for (const pair of second as unknown[]) {
        if (Array.isArray(pair) && pair.length >= 2) pairs.push(pair[1], pair[0]);
      }
      return pairs.length > 0 ? [['zadd', key, ...pairs]] : null;
    }
    default:
      return null; // XREADGROUP: the entry stays pending (XAUTOCLAIM); XREAD, WAIT take nothing
  }
}

let detached: hub.Flow | null = null;

/**
 * The flow a client's own machinery runs in (connecting, handshakes, reconnects, the
 * unblock loop): it belongs to the main greenlet, which nothing kills, and commands
 * issued from it are the client's own, never a greenlet's op.
 */
export function detachedFlow(): hub.Flow {
  return (detached ??= hub.Flow.sub(hub.main));
}

/** Run `fn` in the detached flow (the user's other AsyncLocalStorage stores stay: see client-ops.ts `outside`). */
export function runDetached<R>(fn: () => R): R {
  return hub.runIn(detachedFlow(), fn);
}

/** True when the caller is the client's own machinery (see `detachedFlow`). */
export function inDetached(): boolean {
  return detached !== null && hub.storedFlow() === detached;
}

/** `inDetached()` for a flow the caller has already read (`hub.storedFlow()`). */
export function isDetached(flow: hub.Flow | undefined): boolean {
  return detached !== null && flow === detached;
}

/**
 * Hand the immediate(s) `flow` gained during a call of node-redis's (its write of the turn:
 * v5's `sendCommand`, v4's socket `cork`) to the client's own flow, so that the greenlet
 * that happened to make it cannot clear it by dying. `before` and `size`: `flow.ops` and
 * its size before the call. (Running the call detached would cost an AsyncLocalStorage
 * switch per command, ~1 µs on Node 24/26.)
 */
export function adoptWriteTimer(flow: hub.Flow, before: hub.Flow['ops'], size: number): void {
  const now = flow.ops;
  if (now === null) return;
  if (!(now instanceof Set)) {
    if (now !== before && now.kind.name === 'immediate') hub.adopt(now, detachedFlow());
    return;
  }
  // Run once per turn, so seldom optimised: no iterator, spread or closure (2.7 µs a call
  // with them, ~50 ns per node-redis command at 50 a turn). A flow's several ops are an
  // OpList (ops.ts `link`), in the order they were linked: the call's are the last `n`.
  // Before the call: `size` ops if it is the same list; the lone op if still listed; none
  // if the old list emptied meanwhile (a list is replaced only once empty).
  const list = now as hub.OpList<hub.AnyOp>;
  let n = list.size - (now === before ? size : before !== null && !(before instanceof Set) && list.has(before) ? 1 : 0);
  for (let op = list.last; n > 0 && op !== null; n--) {
    const prev = op.lprev;
    if (op.kind.name === 'immediate') hub.adopt(op, detachedFlow());
    op = prev;
  }
}

const DELAYS = [0, 1, 2, 5, 10, 20, 50];
const sleep = (ms: number): Promise<void> => new Promise((r) => originalSetTimeout(r, ms));

/** What the unblock loop needs to know about one cancelled blocking command. */
export interface Unblockable {
  /** True once the command's reply (or error) arrived. */
  replied: boolean;
}

/**
 * Send `CLIENT UNBLOCK <id>` (plain: the command returns as on its own timeout) until it
 * unblocked the command or the command replied. `CLIENT UNBLOCK` aims at a connection,
 * not a command: it is sent only while `first()` says no earlier blocking command of the
 * connection awaits its reply (else it would end that one). A 0 means the server has
 * not begun the command yet (the side connection overtook it): try again, shortly.
 * `alive()` false (the connection closed: the server unblocked it itself) ends the loop.
 */
export async function unblockLoop(cmd: Unblockable, id: number, send: (id: number) => Promise<unknown>, alive: () => boolean, first: () => boolean): Promise<void> {
  for (let i = 0; !cmd.replied && alive(); i++) {
    if (first()) {
      const n = await send(id);
      if (Number(n) === 1 || cmd.replied) return;
    }
    await sleep(DELAYS[Math.min(i, DELAYS.length - 1)]!);
  }
}

/** Run the unblock of a cancelled command: a failure (the side connection refused, no
 * right to CLIENT UNBLOCK) leaves the command blocked until its own timeout; said, not thrown. */
export function unblockDetached(run: () => Promise<void>): void {
  runDetached(() => {
    run().catch((e: unknown) =>
      process.emitWarning(`greenio could not end a cancelled blocking Redis command on the server: ${(e as Error)?.message ?? String(e)}`, {
        type: 'GreenioWarning',
        code: 'GREENIO_REDIS_UNBLOCK',
      }),
    );
  });
}

/** The note of an interrupted command that was sent and does not block: it runs whole on the server. */
export const SENT_RUNS_WHOLE = notCancelled('a sent command runs whole (its reply is dropped)');

/** The note of an interrupted MULTI or pipeline (`what`): it runs whole on the server. */
export function batchRunsWhole(what: string): string {
  return notCancelled(`a ${what} runs whole (its result is dropped)`);
}

/** Say that an item could not be put back (the connection failed meanwhile). */
export function warnLost(what: string, err: unknown): void {
  process.emitWarning(`greenio could not put back an item a cancelled ${what} had taken: ${(err as Error)?.message ?? String(err)}`, {
    type: 'GreenioWarning',
    code: 'GREENIO_REDIS_RESTORE',
  });
}
