/**
 * A greenlet's links (gevent's `link`, `link_value`, `link_exception`): callbacks run
 * once it is dead, asynchronously and in the order they were added, each only if the
 * outcome matches its mode; `remove` works until a callback has run, even during the
 * pass (gevent's rule). Limit: a callback that throws is reported, never rethrown.
 */
import { LinkRunner } from './hub/index.js';

/** 0: whatever the outcome; 1: only on success; 2: only on failure. */
export type LinkMode = 0 | 1 | 2;

/** The links of one greenlet (created on its first link). */
export class Links<G> {
  #list: Array<{ cb: (g: G) => unknown; mode: LinkMode }> | null = [];
  /** Once dead: its links being run (an earlier one may unlink a later one). */
  #firing: LinkRunner<G> | null = null;

  /** Add `cb` while the greenlet is alive. */
  add(cb: (g: G) => unknown, mode: LinkMode): void {
    this.#list?.push({ cb, mode });
  }

  /** Every link of `cb` not run yet will not run. */
  remove(cb: (g: G) => unknown): void {
    this.#firing?.remove(cb);
    const l = this.#list;
    if (l !== null) for (let i = l.length - 1; i >= 0; i--) if (l[i]!.cb === cb) l.splice(i, 1);
  }

  /** The greenlet `g` is dead (`ok`: successfully): run every link whose mode matches. */
  fireAll(g: G, ok: boolean): void {
    const l = this.#list;
    this.#list = null;
    if (l !== null) for (const { cb, mode } of l) this.fire(g, ok, mode, cb);
  }

  /** Run `cb` in the dead `g`'s links pass, if `mode` matches its outcome. */
  fire(g: G, ok: boolean, mode: LinkMode, cb: (g: G) => unknown): void {
    if ((mode === 1 && !ok) || (mode === 2 && ok)) return;
    (this.#firing ??= new LinkRunner<G>(g)).add(cb);
  }
}
