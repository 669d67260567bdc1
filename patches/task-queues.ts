/**
 * Task-queue libraries shared by greenlets (p-queue, Bottleneck) as rows of the patch
 * table. A task runs in the flow of the greenlet that added it, whichever task's end or
 * timer starts it: its IO is that greenlet's, and that greenlet's kill or Timeout aborts
 * it. The library's own scheduling runs outside any greenlet: its timers, its intervals,
 * and the code that starts the next task. So no greenlet's kill stops the queue for the
 * others. A task whose greenlet was killed, or whose flow was abandoned, before the task
 * started never runs: it fails with that error, and the queue goes on.
 * Limits: the promise `add`/`schedule` returns is the library's, a wait greenio cannot see.
 * A kill that finds the task still queued therefore abandons the waiting greenlet (with the
 * usual warning). p-queue is an ES module: patched on Node ≥ 22.15 only (patches/esm-hook.ts).
 * Setting p-queue's `concurrency` from a greenlet may start tasks (each still runs in its
 * adder's greenlet), but a timer that this starts is that greenlet's.
 */
import { AsyncResource } from 'node:async_hooks';
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { outside, ownedByNoGreenlet } from './client-ops.js';

/**
 * `task`, bound to the adder's whole async context (its greenlet's flow, and the program's
 * own AsyncLocalStorage values with it). If that flow meets an interrupt before the task
 * starts (its greenlet killed, its flow abandoned, a kill that reached nothing), the task
 * does not run: it fails with that error, through its callback (`callbackStyle`: the last
 * argument) or as a rejected promise.
 */
function inAdderContext(task: AnyFunction, callbackStyle: boolean): AnyFunction {
  return AsyncResource.bind(function (this: unknown, ...args: unknown[]): unknown {
    const err = hub.pendingInterrupt();
    if (err === null) return Reflect.apply(task, this, args);
    const cb = args[args.length - 1];
    if (callbackStyle && typeof cb === 'function') return void (cb as (e: Error) => void)(err);
    return Promise.reject(err);
  });
}

/**
 * A method that takes a task at the argument index `at(args)` gives (-1: none), called by
 * promise (`schedule`) or with a callback as its last argument (Bottleneck's `submit`).
 */
function submitWrapper(at: (args: readonly unknown[]) => number, callbackStyle = false): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function submit(this: unknown, ...args: unknown[]): unknown {
      const i = at(args);
      if (i >= 0) args[i] = inAdderContext(args[i] as AnyFunction, callbackStyle);
      // `submit(fn, ...args, cb)`: the callback is the adder's continuation.
      const last = args.length - 1;
      if (callbackStyle && last > i && typeof args[last] === 'function') args[last] = AsyncResource.bind(args[last] as AnyFunction);
      return outside(original, this, ...args);
    };
}

const first = (args: readonly unknown[]): number => (typeof args[0] === 'function' ? 0 : -1);
// Bottleneck: `schedule([options,] fn, ...args)`.
const optionsThenFn = (args: readonly unknown[]): number => (typeof args[0] === 'function' ? 0 : typeof args[1] === 'function' ? 1 : -1);

/** The prototype of class `cls` if it has method `method` (a version without it is left alone). */
function prototypeOf(cls: unknown, method: string): Record<string, unknown> | null {
  if (typeof cls !== 'function') return null;
  const proto = (cls as { prototype?: Record<string, unknown> }).prototype;
  return proto !== undefined && typeof proto[method] === 'function' ? proto : null;
}

const P_QUEUE = 'p-queue/dist/index.js';
const BOTTLENECK = 'bottleneck/lib/Bottleneck.js';

export const pQueuePatches: readonly ModulePatch[] = [
  {
    module: P_QUEUE,
    implements: { promise: ['PQueue.prototype.add'], sync: ['PQueue.prototype.start'] },
    patch(exports) {
      const proto = prototypeOf((exports as { default?: unknown }).default, 'add');
      if (proto === null) return;
      wrap(proto, 'add', submitWrapper(first), `module:${P_QUEUE}`);
      // `start` may start tasks and timers: the queue's own, as in `add`.
      wrap(proto, 'start', ownedByNoGreenlet, `module:${P_QUEUE}`);
    },
  },
];

export const bottleneckPatches: readonly ModulePatch[] = [
  {
    module: BOTTLENECK,
    implements: { promise: ['Bottleneck.prototype.schedule'], callback: ['Bottleneck.prototype.submit'] },
    patch(exports) {
      const proto = prototypeOf(exports, 'schedule');
      if (proto === null) return;
      wrap(proto, 'schedule', submitWrapper(optionsThenFn), `module:${BOTTLENECK}`);
      wrap(proto, 'submit', submitWrapper(optionsThenFn, true), `module:${BOTTLENECK}`);
    },
  },
];
