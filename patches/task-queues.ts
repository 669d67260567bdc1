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
 * Setting p-queue's `concurrency` from a greenlet starts tasks in main, as it should, but
 * timers it starts then are that greenlet's.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';

/**
 * `task`, made to run in `flow` (the adder's): if that flow meets an interrupt first (its
 * greenlet killed, its flow abandoned, a kill that reached nothing), the task does not
 * run and its promise rejects with that error.
 */
function inFlow(flow: hub.Flow, task: AnyFunction): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    return hub.runIn(flow, () => {
      const err = hub.pendingInterrupt();
      if (err !== null) return Promise.reject(err);
      return Reflect.apply(task, this, args);
    });
  };
}

/** The adder's flow, or null in main outside any greenlet (nothing to bind there). */
function adderFlow(): hub.Flow | null {
  const flow = hub.storedFlow();
  return flow === undefined || flow === hub.main ? null : flow;
}

/** A method that takes a task at the argument index `at(args)` gives (-1: none). */
function submitWrapper(at: (args: readonly unknown[]) => number, alsoLast = false): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function submit(this: unknown, ...args: unknown[]): unknown {
      const flow = adderFlow();
      if (flow !== null) {
        const i = at(args);
        if (i >= 0) args[i] = inFlow(flow, args[i] as AnyFunction);
        // Bottleneck's `submit(fn, ...args, cb)`: the callback is the adder's continuation.
        const last = args.length - 1;
        if (alsoLast && last > i && typeof args[last] === 'function') args[last] = hub.runIn.bind(null, flow, args[last] as AnyFunction);
      }
      return hub.outside(() => Reflect.apply(original, this, args));
    };
}

/** A method that may start tasks and timers (p-queue's `start`): run outside any greenlet. */
function detachedWrapper(original: AnyFunction): AnyFunction {
  return function detached(this: unknown, ...args: unknown[]): unknown {
    return hub.outside(() => Reflect.apply(original, this, args));
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
      wrap(proto, 'start', detachedWrapper, `module:${P_QUEUE}`);
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
