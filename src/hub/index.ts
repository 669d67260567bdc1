/**
 * The hub's one door: everything outside src/hub/ imports the hub from here. The hub is
 * greenio's switch point, by concern: ops.ts (Op, Flow, Core: the records, linked and
 * finished), flows.ts (the running flow, main, `configure`), switch.ts (wait, begin,
 * track), interrupts.ts, abandon.ts (abandonment, release), fairness.ts; and its organs:
 * kinds, the registry, runSoon, parked and wait lists, waitables, channels, describe,
 * flowset (a greenlet's sub-flows holding ops).
 * It imports only src/internal/ and src/errors.ts (see docs/internals.md).
 *
 * The doors, in brief:
 * - wait / waitFor: the current flow blocks on an op (a pending interrupt rejects at once).
 * - begin: a callback op or handle of the current flow, or the pending interrupt's error
 *   instead (the caller then refuses the call); track: the same without the check.
 * - pendingInterrupt: the check alone, for IO started before its op is made.
 * - beginWait / adoptSettlers / ownPromise (adopt.ts): a wait on a client's own promise,
 *   the op holding its settlers (node-redis's commands).
 * - currentFlow / currentCore / storedFlow: who runs; runIn(flow, fn) / outside(fn) /
 *   enterFlow(flow): run code in a flow, or in main (nothing outside the hub touches the
 *   AsyncLocalStorage; only the naming flow changes, the user's stores stay).
 * - interrupt / clearPending (greenlet.ts, timeout.ts); configure (greenlet.ts, once).
 */
export { Op, Flow, Core, Rare, State, busyWithin, scheduleAbandonCheck, UNWIND_GRACE_TURNS, type AnyOp, type OpHandler, type Outcome, type Unreached, type FlowWatch } from './ops.js';
export { exactNow } from './turnclock.js';
export { OpList } from './oplist.js';
export { main, configure, currentFlow, currentCore, storedFlow, runIn, tickIn, outside, enterFlow, enterInJob, enterInJobReady, adopt, opsOf, type HubSetup } from './flows.js';
export { wait, waitFor, begin, track, pendingInterrupt, setEdgeHook, wakeCount } from './switch.js';
export { beginWait, adoptSettlers, ownPromise } from './adopt.js';
export { interrupt, clearPending } from './interrupts.js';
export { abandonCounts, watchExpiring, unwatchExpiring, watchAbandon, abandonFlow, publishAbandoned, releaseAll } from './abandon.js';
export * from './kinds.js';
export * from './registry.js';
export * from './soon.js';
export * from './parked.js';
export * from './waiters.js';
export * from './waitable.js';
export * from './describe.js';
export { WeakDetail, detailOwner } from './weak-detail.js';
export * from './channels.js';
export * from './op-channels.js';
export type { TraceOutcome, TraceGreenletFields, GreenletTraceContext, JobTraceContext, TaskTraceContext, OpTraceContext, TraceEventChannel, TraceSubscribers, GreenioTracingChannel } from './trace-types.js';
