/**
 * Detection of `*Sync` calls inside greenlets (gevent's blocking detection): each is
 * measured and, per `config.syncIO`, counted (`'allow'`), reported with the greenlet,
 * duration and call site on the `greenio:block` channel and stderr (`'warn'`), or
 * refused with `BlockingCallError` (`'throw'`). Outside greenlets nothing changes.
 * Skipped on purpose: calls made by `require()` (the CJS loader reads files with
 * `fs.readFileSync`) and calls nested in another sync call (`readFileSync` → `openSync`).
 */
import { createRequire } from 'node:module';
import * as hub from '../src/hub/index.js';
import { blockChannel } from '../src/hub/index.js';
import { config } from '../src/internal/config.js';
import { greenletLabel } from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import { BlockingCallError } from '../src/errors.js';

let depth = 0;
let loading = 0;

/** What a sync-call report carries (the `greenio:block` message with `type: 'sync'`). */
export interface SyncReport {
  type: 'sync';
  call: string;
  greenlet: hub.Core;
  durationMs: number;
  site: string;
  stack: string;
}

/** Wrap a blocking `*Sync` function named `call` (e.g. `'fs.readFileSync'`). */
export function syncWrapper(call: string): (original: AnyFunction) => AnyFunction {
  const kind = hub.kind(call);
  return (original) =>
    ({ wrapper(this: unknown) {
      const flow = hub.storedFlow();
      if (flow === undefined || depth !== 0 || loading !== 0 || flow.greenlet.isMain) return Reflect.apply(original, this, arguments);
      const mode = config.syncIO;
      if (mode === 'throw') throw new BlockingCallError(call);
      depth++;
      const t0 = performance.now();
      try {
        return Reflect.apply(original, this, arguments);
      } finally {
        depth--;
        const ms = performance.now() - t0;
        hub.account(kind, flow.greenlet, ms);
        // The wrapper is still on the caller's stack: the call site costs a stack only now.
        if (mode === 'warn' && ms >= config.syncIOThreshold) report(call, flow.greenlet, ms);
      }
    } }).wrapper;
}

const lastPrinted = new Map<string, number>();

function report(call: string, g: hub.Core, ms: number): void {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, report);
  const stack = (holder.stack ?? '').split('\n').slice(1).filter((l) => !/[/\\](patches|src)[/\\](sync|conventions|fs|child-process)\.[jt]s/.test(l) && !l.includes('node:internal')).join('\n');
  const site = (stack.split('\n')[0] ?? '').trim().replace(/^at /, '');
  const msg: SyncReport = { type: 'sync', call, greenlet: g, durationMs: ms, site, stack };
  if (blockChannel.hasSubscribers) blockChannel.publish(msg);
  // The same call site reported at most once a second on stderr: a loop must not flood it.
  const key = `${call}@${site}`;
  const now = performance.now();
  const last = lastPrinted.get(key);
  if (last !== undefined && now - last < 1000) return;
  lastPrinted.set(key, now);
  process.stderr.write(`greenio: ${call}() blocked the event loop for ${ms.toFixed(1)} ms in ${greenletLabel(g)} at ${site || '<unknown>'}\n`);
}

/**
 * Count `Module._load` depth so that `require()` reading files is never reported; and
 * `Module._resolveFilename`'s, which require-in-the-middle (the hook of third-party
 * patches) calls before `_load` (it stats and realpaths the files).
 */
export function guardModuleLoad(owner: string): void {
  const Module = createRequire(import.meta.url)('node:module') as { _load: AnyFunction; _resolveFilename: AnyFunction };
  for (const key of ['_load', '_resolveFilename'] as const) {
    wrap<AnyFunction>(Module, key, (original) =>
      ({ wrapper(this: unknown) {
        loading++;
        try {
          return Reflect.apply(original, this, arguments);
        } finally {
          loading--;
        }
      } }).wrapper, owner);
  }
}
