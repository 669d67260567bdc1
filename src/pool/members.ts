/**
 * Membership of a group (who may be a member, its name in descriptions), joining and
 * killing its members, for `Group.join` and `Group.kill`: the joiners'
 * hub waits (a `raiseError` joiner is rejected by the first member that fails) and the
 * kill loop (each member killed once, members added meanwhile too). Limit: a member that
 * ignores its kill keeps `kill()` waiting until its `timeout`.
 */
import * as hub from '../hub/index.js';
import { kAddWatcher, removeFrom, type AnyOp, type OpHandler, type Watcher } from '../hub/index.js';
import { Greenlet } from '../greenlet.js';
import { joinAll } from '../wait.js';
import { expected } from '../internal/validate.js';
import { nameOf } from '../instrument/resources.js';

/** `greenlet` must be a greenlet that can be a member (not the main greenlet). */
export function checkGreenlet(g: unknown): asserts g is Greenlet {
  if (!(g instanceof Greenlet)) throw new TypeError(expected('greenlet', 'a Greenlet', g));
  if (g.isMain) throw new TypeError('The main greenlet cannot be a member of a group');
}

/** ` 'name'` for a named group's description, else nothing. */
export function quotedName(o: object): string {
  const n = nameOf(o);
  return n === undefined ? '' : ` '${n}'`;
}

/** What join and kill need of a group (`Group` itself; an interface so this file stays below it). @internal */
export interface Members {
  readonly _members: Set<Greenlet>;
  /** Members being killed (never killed twice: a second kill would interrupt their cleanup). */
  _dying: Set<Greenlet> | null;
  /** Greenlets waiting in `join()`. */
  _joiners: AnyOp[] | null;
}

/** `join()`'s wait: resolves `true` when the group is empty, `false` at its timeout. */
export const JOIN: OpHandler<boolean> = {
  start(op) {
    ((op.data as Members)._joiners ??= []).push(op);
  },
  cancel(op) {
    removeFrom((op.data as Members)._joiners, op);
  },
  timeout(op) {
    removeFrom((op.data as Members)._joiners, op);
    op.resolve(false);
  },
};

/** `join({ raiseError: true })`'s wait: the same, told apart by identity. */
export const JOIN_RAISE: OpHandler<boolean> = { ...JOIN };

// Marks a member's error as seen (no "nobody joined it" report) when join() throws it.
const SEEN: Watcher = { onReady() {} };

/** Member `g` failed: reject the joiners that asked for its error. */
export function rejectRaisers(js: AnyOp[], g: Greenlet): void {
  for (let i = 0; i < js.length; ) {
    const op = js[i]!;
    if (op.handler !== JOIN_RAISE) {
      i++;
      continue;
    }
    js.splice(i, 1);
    g[kAddWatcher](SEEN);
    op.reject(g.exception);
  }
}

/**
 * Kill every member of `group` with `err`, each once; with `block`, wait until they are
 * dead (up to `ms`), killing members added meanwhile too. The caller, if a member, last.
 */
export async function killMembers(group: Members, err: Error, block: boolean, ms: number | undefined): Promise<void> {
  const me = hub.currentCore() as Greenlet;
  const deadline = ms === undefined ? Infinity : performance.now() + ms;
  for (;;) {
    const targets: Greenlet[] = [];
    const dying = (group._dying ??= new Set());
    // A greenlet killed before it started dies inside kill(), leaving the set: safe
    // while iterating, and members added meanwhile are visited too.
    for (const g of group._members) {
      if (g === me) continue;
      if (!dying.has(g)) {
        dying.add(g);
        void g.kill(err, { block: false });
      }
      if (!g.dead) targets.push(g);
    }
    if (!block || targets.length === 0) break;
    const left = deadline - performance.now();
    if (left <= 0) break;
    const done = await joinAll(targets, { timeout: left === Infinity ? undefined : left });
    if (done.length < targets.length) break; // timed out: resolve anyway (gevent)
  }
  if (group._members.has(me)) {
    group._dying!.add(me);
    await me.kill(err);
  }
}
