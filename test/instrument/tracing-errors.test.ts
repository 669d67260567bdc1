// The TracingChannels carry what an operation failed with (`context.error`, Node's
// convention) and how it ended: the exact events and contexts of a scripted workload with
// a wait that fails, waits ended by their own timeout (into an error, into a result), a
// wait interrupted by a Timeout, a killed greenlet's wait, and a greenlet that throws.
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncResult, Event, GreenletExit, Queue, QueueEmpty, TimeoutError, getCurrent, sleep, spawn, withTimeout } from '../../src/index.js';

type Ctx = Record<string, unknown>;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
// What each event saw: the context itself, and its outcome and error at that moment.
type Seen = { ch: string; ev: string; ctx: Ctx; outcome: unknown; error: unknown };

function record(names: string[]): { log: Seen[]; off: () => void } {
  const log: Seen[] = [];
  const offs: (() => void)[] = [];
  for (const name of names) {
    const tc = diagnostics.tracingChannel(name);
    const handlers = Object.fromEntries(EVENTS.map((ev) => [ev, (c: unknown) => {
      const ctx = c as Ctx;
      log.push({ ch: name, ev, ctx, outcome: ctx.outcome, error: ctx.error });
    }]));
    tc.subscribe(handlers as never);
    offs.push(() => tc.unsubscribe(handlers as never));
  }
  return { log, off: () => offs.forEach((f) => f()) };
}

const errName = (e: unknown): string => (e === undefined ? '-' : e instanceof Error ? e.name : String(e));

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe('tracing:greenio.* error values and outcomes', () => {
  it('a scripted workload: each failed or interrupted op carries its error on `error`, a timeout into a result has none', async () => {
    const { log, off } = record(['greenio.greenlet', 'greenio.wait']);
    cleanup = off;
    const boom = new Error('boom');
    const fatal = new Error('fatal');
    const ar = new AsyncResult<number>();
    const q = new Queue<number>();
    const ev = new Event();
    const started = new Event();
    let timeoutError: unknown;
    const worker = spawn(async function workerFn() {
      await ar.get().catch(() => {}); // fails: set by main with an exception
      await q.get({ timeout: 5 }).catch(() => {}); // its own timeout: QueueEmpty
      expect(await ev.wait(5)).toBe(false); // its own timeout into a result: no error
      timeoutError = await withTimeout(10, () => sleep(60_000)).catch((e: unknown) => e);
      const victim = spawn(async function victimFn() {
        started.set();
        await sleep(60_000);
      });
      victim.name = 'victim';
      await started.wait();
      await victim.kill();
      throw fatal;
    });
    worker.name = 'worker';
    await sleep(5);
    ar.setException(boom);
    await worker.join();
    off();
    const main = getCurrent();
    const mine = log.filter((s) => s.ctx.id !== main.id);
    const seq = mine.map((s) => `${s.ch === 'greenio.greenlet' ? 'g' : 'w'}:${s.ev}:${String(s.ctx.name)}:${String(s.ctx.kind)}:${String(s.outcome ?? '')}:${errName(s.error)}`);
    expect(seq).toEqual([
      'g:start:worker:greenlet::-',
      'w:start:worker:asyncresult.get::-',
      'w:end:worker:asyncresult.get::-',
      'g:end:worker:greenlet::-',
      // A wait that fails: `error` with the rejection, before asyncStart/asyncEnd.
      'w:error:worker:asyncresult.get:error:Error',
      'w:asyncStart:worker:asyncresult.get:error:Error',
      'w:asyncEnd:worker:asyncresult.get:error:Error',
      // Its own { timeout } rejecting: timedOut, with the QueueEmpty it rejected with.
      'w:start:worker:queue.get::-',
      'w:end:worker:queue.get::-',
      'w:error:worker:queue.get:timedOut:QueueEmpty',
      'w:asyncStart:worker:queue.get:timedOut:QueueEmpty',
      'w:asyncEnd:worker:queue.get:timedOut:QueueEmpty',
      // Its own timeout turned into a result (false): timedOut, but nothing was thrown.
      'w:start:worker:event.wait::-',
      'w:end:worker:event.wait::-',
      'w:asyncStart:worker:event.wait:timedOut:-',
      'w:asyncEnd:worker:event.wait:timedOut:-',
      // Interrupted by a Timeout: the TimeoutError withTimeout rejects with.
      'w:start:worker:sleep::-',
      'w:end:worker:sleep::-',
      'w:error:worker:sleep:timedOut:TimeoutError',
      'w:asyncStart:worker:sleep:timedOut:TimeoutError',
      'w:asyncEnd:worker:sleep:timedOut:TimeoutError',
      'w:start:worker:event.wait::-',
      'w:end:worker:event.wait::-',
      'g:start:victim:greenlet::-',
      'w:asyncStart:worker:event.wait:ok:-', // set() ends the wait at once (the worker runs later)
      'w:asyncEnd:worker:event.wait:ok:-',
      'w:start:victim:sleep::-',
      'w:end:victim:sleep::-',
      'g:end:victim:greenlet::-',
      // A kill: the victim's wait ends killed with the GreenletExit it was sent.
      'w:error:victim:sleep:killed:GreenletExit',
      'w:asyncStart:victim:sleep:killed:GreenletExit',
      'w:asyncEnd:victim:sleep:killed:GreenletExit',
      'w:start:worker:join::-',
      'w:end:worker:join::-',
      // A killed greenlet did not fail (gevent: GreenletExit is its result), so no `error`.
      'g:asyncStart:victim:greenlet:killed:-',
      'g:asyncEnd:victim:greenlet:killed:-',
      'w:asyncStart:worker:join:ok:-',
      'w:asyncEnd:worker:join:ok:-',
      'g:error:worker:greenlet:error:Error',
      'g:asyncStart:worker:greenlet:error:Error',
      'g:asyncEnd:worker:greenlet:error:Error',
    ]);
    // The error objects are the very ones thrown.
    const at = (name: string, kind: string): Ctx => mine.find((s) => s.ev === 'asyncEnd' && s.ctx.name === name && s.ctx.kind === kind)!.ctx;
    expect(at('worker', 'asyncresult.get').error).toBe(boom);
    expect(at('worker', 'queue.get').error).toBeInstanceOf(QueueEmpty);
    const evWait = mine.find((s) => s.ctx.kind === 'event.wait')!.ctx;
    expect([evWait.outcome, evWait.error]).toEqual(['timedOut', undefined]);
    expect(timeoutError).toBeInstanceOf(TimeoutError);
    expect(at('worker', 'sleep').error).toBe(timeoutError);
    expect(at('victim', 'sleep').error).toBeInstanceOf(GreenletExit);
    expect(at('victim', 'greenlet')).toMatchObject({ outcome: 'killed', result: at('victim', 'sleep').error });
    expect(at('worker', 'greenlet')).toMatchObject({ outcome: 'error', error: fatal });
    for (const s of mine.filter((x) => x.ch === 'greenio.wait' && x.ev === 'asyncEnd')) {
      expect(s.ctx.durationMs).toBeGreaterThanOrEqual(0);
      expect(s.ctx.isWait).toBe(true);
    }
  });

  it('a greenlet abandoned by its kill: the abandoned await is an op ending `abandoned` with the kill error', async () => {
    const { log, off } = record(['greenio.greenlet', 'greenio.wait']);
    cleanup = off;
    const g = spawn(async function stuck() {
      await new Promise(() => {}); // nothing greenio can see or cancel
    });
    g.name = 'stuck';
    await sleep(1);
    const exit = new GreenletExit('stop');
    await g.kill(exit);
    await sleep(5); // the abandoned await is reported on the turn after the kill
    off();
    const mine = log.filter((s) => s.ctx.greenlet === g);
    expect(mine.map((s) => `${s.ch === 'greenio.greenlet' ? 'g' : 'w'}:${s.ev}:${String(s.ctx.kind)}:${String(s.outcome ?? '')}:${errName(s.error)}`)).toEqual([
      'g:start:greenlet::-',
      'g:end:greenlet::-',
      'g:asyncStart:greenlet:abandoned:-',
      'g:asyncEnd:greenlet:abandoned:-',
      // Published whole on the next turn (its durationMs: from the kill until it gave up).
      'w:start:kill abandoned::-',
      'w:end:kill abandoned::-',
      'w:error:kill abandoned:abandoned:GreenletExit',
      'w:asyncStart:kill abandoned:abandoned:GreenletExit',
      'w:asyncEnd:kill abandoned:abandoned:GreenletExit',
    ]);
    expect(mine[6]!.ctx.error).toBe(exit);
    expect(mine[6]!.ctx.detail).toMatch(/killed: stuck .*awaits a promise greenio cannot see/);
  });

  it('a withTimeout that abandons its flow: the abandoned await ends `abandoned` with the TimeoutError', async () => {
    const { log, off } = record(['greenio.wait']);
    cleanup = off;
    let caught: unknown;
    const g = spawn(async function waiter() {
      caught = await withTimeout(20, async function unseen() {
        await new Promise(() => {}); // nothing greenio can see or cancel
      }).catch((e: unknown) => e);
    });
    await g.join();
    // The abandoned await is published once its site is read (after the caller resumed).
    for (let i = 0; i < 100 && !log.some((s) => s.ctx.kind === 'withTimeout abandoned' && s.ev === 'asyncEnd'); i++) await sleep(5);
    off();
    expect(caught).toBeInstanceOf(TimeoutError);
    const mine = log.filter((s) => s.ctx.kind === 'withTimeout abandoned');
    expect(mine.map((s) => `${s.ev}:${String(s.outcome ?? '')}:${errName(s.error)}`)).toEqual([
      'start::-',
      'end::-',
      'error:abandoned:TimeoutError',
      'asyncStart:abandoned:TimeoutError',
      'asyncEnd:abandoned:TimeoutError',
    ]);
    expect(mine[2]!.ctx.error).toBe(caught);
    expect(mine[2]!.ctx.detail).toMatch(/withTimeout 20 ms: unseen .*awaits a promise greenio cannot see/);
  });
});
