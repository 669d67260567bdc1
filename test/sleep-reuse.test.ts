// A `sleep(0)` whose immediate ran hands its op back to the hub (sleep.ts `wakeNow`), which
// reuses it for a later wait: each reuse must be a fresh wait in all that shows (run-info,
// kill, Timeout, subscribers), and an op anyone else may hold must never be reused.
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { GreenletExit, TimeoutError, joinAll, sleep, spawn, withTimeout } from '../src/index.js';
import { opsOf, opText, type AnyOp } from '../src/hub/index.js';
import { config } from '../src/internal/config.js';

describe('sleep(0): the woken op serves a later wait', () => {
  it('a greenlet looping on sleep(0) shows one fresh sleep wait at a time, with its own start', async () => {
    let stop = false;
    const g = spawn(async () => {
      while (!stop) await sleep(0);
    });
    const seen: AnyOp[] = [];
    const starts: number[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        await sleep(0);
        const ops = opsOf(g);
        expect(ops).toHaveLength(1);
        const op = ops[0]!;
        expect(op.settled).toBe(false);
        expect(op.flow).toBe(g);
        expect(opText(op)).toMatch(/^sleep\b/);
        seen.push(op);
        starts.push(op.since);
      }
    } finally {
      stop = true; // whatever failed, the sleeper ends here (it must not run into the next test)
      await g.join();
    }
    expect(opsOf(g)).toHaveLength(0);
    // Reused: fewer distinct objects than waits seen (each loop turn is a new sleep).
    expect(new Set(seen).size).toBeLessThan(seen.length);
    for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThanOrEqual(starts[i - 1]!);
    expect(starts[starts.length - 1]!).toBeGreaterThan(starts[0]!);
  });

  it('a kill after many reuses ends the sleeper at once and the others keep yielding', async () => {
    let other = 0;
    const victim = spawn(async () => {
      for (;;) await sleep(0);
    });
    const bystander = spawn(async () => {
      for (let i = 0; i < 400; i++) {
        await sleep(0);
        other++;
      }
    });
    while (other < 100) await sleep(0);
    await victim.kill();
    expect(victim.dead).toBe(true);
    expect(victim.value).toBeInstanceOf(GreenletExit);
    expect(opsOf(victim)).toHaveLength(0);
    await bystander.join();
    expect(other).toBe(400);
  });

  it('a Timeout around a sleep after many sleep(0) rejects with TimeoutError and leaves no wait', async () => {
    for (let i = 0; i < 200; i++) await sleep(0);
    const g = spawn(async () => {
      for (let i = 0; i < 100; i++) await sleep(0);
      await withTimeout(20, () => sleep(60_000));
    });
    await expect(g.get()).rejects.toBeInstanceOf(TimeoutError);
    expect(opsOf(g)).toHaveLength(0);
  });

  it('an op given to a greenio:io:start subscriber is never reused', async () => {
    const seen: AnyOp[] = [];
    const onStart = (m: unknown) => seen.push((m as { op: AnyOp }).op);
    diagnostics.subscribe('greenio:io:start', onStart);
    try {
      await joinAll([0, 1, 2].map(() => spawn(async () => { for (let i = 0; i < 30; i++) await sleep(0); })), { raiseError: true });
    } finally {
      diagnostics.unsubscribe('greenio:io:start', onStart);
    }
    const sleeps = seen.filter((op) => op.kind.name === 'sleep');
    expect(sleeps.length).toBeGreaterThanOrEqual(90);
    expect(new Set(sleeps).size).toBe(sleeps.length);
    for (const op of sleeps) expect(op.settled).toBe(true);
  });

  it('sleepers stay in step when wake-ups are deferred to the next turn (deferred ops are held, not reused)', async () => {
    const interval = config.switchInterval;
    config.switchInterval = 0; // every 64th wake-up waits for the loop
    try {
      const counts = [0, 0, 0, 0, 0, 0, 0, 0];
      await joinAll(counts.map((_, j) => spawn(async () => { for (let i = 0; i < 500; i++) { await sleep(0); counts[j]!++; } })), { raiseError: true });
      expect(counts).toEqual(counts.map(() => 500));
    } finally {
      config.switchInterval = interval;
    }
  });
});
