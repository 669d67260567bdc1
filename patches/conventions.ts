/**
 * The calling conventions a patch wraps by (DESIGN.md "Patching rules"), one file each:
 * callback (`callback-wrapper.ts`), promise (`promise-wrapper.ts`) and handle (`handles.ts`);
 * sync calls are in `sync.ts`. This file is their door, plus the helper that gives a call an
 * AbortSignal through its options argument.
 */
export { callbackWrapper, type CallbackSpec } from './callback-wrapper.js';
export { promiseWrapper, type PromiseSpec, type LateHandler } from './promise-wrapper.js';
export { trackHandle, destroyHandle, kGreenioListener, type HandleSpec } from './handles.js';

/** Add `signal` to an options argument at `index` (object, string encoding, or absent). */
export function optionsWithSignal(args: unknown[], index: number, signal: AbortSignal): unknown[] | undefined {
  const last = args.length - 1;
  const hasCallback = typeof args[last] === 'function';
  const end = hasCallback ? last : args.length;
  const o = index < end ? args[index] : undefined;
  let opts: object;
  if (o === undefined || o === null) opts = { signal };
  else if (typeof o === 'string') opts = { encoding: o, signal };
  else if (typeof o === 'object' && !('signal' in o) && Object.getPrototypeOf(o) === Object.prototype) opts = { ...o, signal };
  else return undefined; // a user signal or an exotic options object: leave the call alone
  const out = args.slice();
  if (index < end) out[index] = opts;
  else if (hasCallback) out.splice(last, 0, ...new Array(index - last).fill(undefined), opts);
  else out[index] = opts;
  return out;
}
