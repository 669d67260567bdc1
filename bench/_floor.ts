// The floor of issue 18's patch rows: the least any wrapper that attributes IO to the calling
// greenlet pays per call: one AsyncLocalStorage getStore, one wrapping closure (a callback)
// or a promise of its own (so a kill could reject it at once: fs.promises.stat and
// events.once take no signal), and a small op record linked to the caller and marked done.
// No kill, no timing, no stats: a lower bound, not an alternative. Used by bench/patch-fs.ts,
// bench/patch-echo.ts, bench/_patch-ops.ts and bench/_patch-ab.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import type events from 'node:events';
import type fs from 'node:fs';

const als = new AsyncLocalStorage<object>();
const MAIN = {};

/** The op record: who called, and whether it ended (what a kill would look at). */
class Rec {
  done = false;
  constructor(readonly flow: object, readonly detail: unknown) {}
}
let recorded = 0;
const end = (r: Rec): void => {
  r.done = true;
  recorded++;
};

/** Run `fn` in a context of its own, as a greenlet runs. */
export function floorRun<T>(fn: () => Promise<T>): Promise<T> {
  return als.run({}, fn);
}

/** `fs.stat`'s floor wrapper over `stat`. */
export function floorStat(stat: typeof fs.stat): typeof fs.stat {
  return function (path: fs.PathLike, cb: (e: NodeJS.ErrnoException | null, s: fs.Stats) => void) {
    const r = new Rec(als.getStore() ?? MAIN, path);
    return stat(path, (e, s) => {
      end(r);
      cb(e, s);
    });
  } as typeof fs.stat;
}

/** A promise the wrapper owns, settled by `p`, with its record. */
function owned<T>(p: Promise<T>, detail: unknown): Promise<T> {
  const r = new Rec(als.getStore() ?? MAIN, detail);
  let res!: (v: T) => void;
  let rej!: (e: unknown) => void;
  const q = new Promise<T>((a, b) => ((res = a), (rej = b)));
  p.then(
    (v) => {
      end(r);
      res(v);
    },
    (e: unknown) => {
      end(r);
      rej(e);
    },
  );
  return q;
}

/** `fs.promises.stat`'s floor wrapper over `pstat`. */
export function floorPstat(pstat: typeof fs.promises.stat): typeof fs.promises.stat {
  return ((path: fs.PathLike) => owned(pstat(path), path)) as typeof fs.promises.stat;
}

/** `events.once`'s floor wrapper over `once` (the await-per-message echo's one wrapped call). */
export function floorOnce(once: typeof events.once): typeof events.once {
  return ((e: NodeJS.EventEmitter, name: string) => owned(once(e, name), name)) as typeof events.once;
}

/**
 * `fn` after `ns` of busy JavaScript per call: the floor over it is a wrapper doing as much
 * per call as greenio's own code (~300 ns), without greenio (bench/PROFILE.md, FS18).
 */
export function busyFirst<F extends (...a: never[]) => unknown>(fn: F, ns: number): F {
  const ms = ns / 1e6;
  return ((...a: Parameters<F>) => {
    const t = performance.now();
    while (performance.now() - t < ms);
    return fn(...a);
  }) as F;
}

/** Install the floor wrappers on `fs` and `events` (live ESM bindings included). */
export async function installFloor(): Promise<void> {
  const fsm = (await import('node:fs')).default;
  const ev = (await import('node:events')).default;
  fsm.stat = floorStat(fsm.stat);
  fsm.promises.stat = floorPstat(fsm.promises.stat);
  ev.once = floorOnce(ev.once);
  (await import('node:module')).syncBuiltinESMExports();
  // Read at exit so no engine could drop the records as unused.
  process.on('exit', () => {
    if (recorded < 0) console.log(recorded);
  });
}
