/**
 * node-redis's `connect()`, MULTI and pipelines as waits of the greenlet that calls them:
 * each runs detached (the client's own, as its connection is) and is awaited as an op
 * whose cancel only drops the result. Limits: a connection being opened keeps opening; a
 * MULTI or pipeline runs whole on the server (the op's end note says so).
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { describeCommand, inDetached, K_REDIS, runDetached } from './redis-common.js';
import type { NotedHandler } from './client-ops.js';

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

/** The wrapper factory of such a method: `what(arguments)` names the op, `note` is its interrupted end's. */
export function plainWrapper(what: (args: IArguments) => string, note?: string): (original: AnyFunction) => AnyFunction {
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

/** The name of a MULTI or pipeline (`kind`) of node-redis's queued commands: `MULTI 2: SET a; INCR n;`. */
export function batch(kind: string): (args: IArguments) => string {
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
