/**
 * What the database client integrations (pg.ts, mysql2.ts) share: tracking a
 * callback-style call as an op of the current flow, unless a kill is already pending, in
 * which case the call does not start and its callback gets the kill on the next tick.
 */
import * as hub from '../src/hub/index.js';

/** The op tracking `data` for the current flow; null (and `cb` called with the pending kill) when one is pending. */
export function trackOrRefuse(kind: hub.Kind, detail: unknown, handler: hub.OpHandler, data: unknown, cb: (err: Error) => void): hub.Op | null {
  const flow = hub.currentFlow();
  const pending = hub.takePending(flow);
  if (pending !== null) {
    process.nextTick(cb, pending);
    return null;
  }
  return hub.track(kind, detail, handler, data, flow);
}
