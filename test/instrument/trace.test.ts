import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { joinAll, sleep, spawn } from '../../src/index.js';
import { channels } from '../../src/instrument/channels.js';
import { isTracing, kindCategory, startTrace, stopTrace, type TraceEvent } from '../../src/instrument/trace.js';
import { tempDir } from '../helpers.js';
import { traceProblems } from '../fixtures/instrument-trace-schema.js';
import { runFixture, type FixtureRun } from '../run-fixture.js';

describe('startTrace()/stopTrace() on a patched workload', () => {
  let run: FixtureRun;
  let events: TraceEvent[];
  const tmp = tempDir('greenio-trace-');
  const trackOf = (tid: number): string => String(events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === tid)?.args?.name);
  sharedRun(() => {
    const file = join(tmp.dir, 'trace.json');
    run = runFixture('instrument-trace.ts', [file]);
    events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
  }, 120_000); // a process that starts slowly on a busy machine
  afterAll(() => tmp.cleanup());

  it('writes valid Chrome trace-event JSON: fields per phase, numeric ts/dur, named tracks, proper nesting', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(traceProblems({ traceEvents: events })).toEqual([]);
    expect(events.every((e) => e.pid === events[0]!.pid)).toBe(true);
    expect(events.filter((e) => e.ph === 'M' && e.name === 'process_name')).toHaveLength(1);
  });

  it('has one track per greenlet (plus one for overlapping waits), named after it', () => {
    const lanes0 = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.lane === 0).map((e) => e.args?.name);
    expect(lanes0).toEqual([
      'main', 'reader-1 (read)', 'reader-2 (read)', 'reader-3 (read)', 'Greenlet-4 (consume)', 'Greenlet-5 (produce)',
      'Greenlet-6 (fail)', 'spinner (spin)', 'sleeper (nap)',
    ]);
    // reader-1's sleeps overlap without nesting: the later one is on a second track of its own.
    const extra = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.lane === 1).map((e) => e.args?.name);
    expect(extra).toContain('reader-1 (read) [2]');
    const sorted = events.filter((e) => e.name === 'thread_sort_index').map((e) => e.args?.sort_index as number);
    expect(new Set(sorted).size).toBe(sorted.length);
  });

  it('records each greenlet lifetime with its outcome: ok, error, or alive at the stop', () => {
    const life = (name: string): TraceEvent | undefined => events.find((e) => e.ph === 'X' && e.cat === 'greenlet' && e.args?.name === name);
    expect(life('reader-1')?.args).toMatchObject({ outcome: 'ok', fn: 'read', parent: 'main' });
    expect(life('Greenlet-6')?.args).toMatchObject({ outcome: 'error', error: 'Error: boom' });
    expect(life('sleeper')?.args).toMatchObject({ outcome: 'alive' });
    expect(life('reader-1')!.dur).toBeGreaterThan(25_000); // it slept 30 ms (µs here)
  });

  it('records every wait as a complete event, categorised and coloured by kind', () => {
    const waits = events.filter((e) => e.ph === 'X' && e.cat !== 'greenlet' && e.cat !== 'block');
    const count = (name: string): number => waits.filter((e) => e.name === name).length;
    expect(count('fs.readFile')).toBe(6);
    expect(count('queue.get')).toBe(3);
    expect(waits.filter((e) => e.name === 'fs.readFile').every((e) => e.cat === 'fs' && e.cname === 'thread_state_iowait' && /instrument-trace\.ts$/.test(String(e.args?.detail)))).toBe(true);
    expect(waits.filter((e) => e.name === 'sleep').every((e) => e.cat === 'timer')).toBe(true);
    expect(waits.filter((e) => e.name === 'queue.get').every((e) => e.cat === 'sync')).toBe(true);
    // The waits of reader-2 sit on its own track, inside its lifetime.
    const r2 = waits.filter((e) => trackOf(e.tid) === 'reader-2 (read)');
    expect(r2.map((e) => e.name)).toEqual(['fs.readFile', 'fs.readFile', 'sleep']);
    const sleeperWait = waits.find((e) => trackOf(e.tid) === 'sleeper (nap)');
    expect(sleeperWait?.args).toMatchObject({ unfinished: true, detail: '60000' });
  });

  it('marks blocking reports as instant events on the greenlet that blocked', () => {
    const instants = events.filter((e) => e.ph === 'i');
    const sync = instants.find((e) => e.args?.type === 'sync');
    expect(sync).toMatchObject({ name: 'blocked: fs.readFileSync', cat: 'block', s: 't' });
    expect(trackOf(sync!.tid)).toBe('Greenlet-5 (produce)');
    // The spinner's stall. A busy machine may add stalls of its own making outside the
    // program's code (module loading, a GC): those are not the spinner's.
    const stall = instants.find((e) => e.args?.type === 'stall' && trackOf(e.tid) === 'spinner (spin)');
    expect(stall, JSON.stringify(instants.filter((e) => e.cat === 'block'))).toMatchObject({ name: 'blocked: event loop stall', cat: 'block' });
    expect(String(stall!.args?.site)).toMatch(/^spin \(.*instrument-trace\.ts:\d+:\d+\)$/);
    expect(stall!.args?.durationMs as number).toBeGreaterThan(60);
    // ... and each as a slice with the duration, for viewers that show instants as ticks.
    const reports = instants.filter((e) => e.cat === 'block');
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.ph === 'X' && e.cat === 'block')).toHaveLength(reports.length);
  });
});

describe('tracing in process', () => {
  it('costs nothing when off: no subscriber, and stopTrace() without a trace is []', () => {
    expect(isTracing()).toBe(false);
    expect(stopTrace()).toEqual([]);
    expect([channels.ioEnd.hasSubscribers, channels.start.hasSubscribers, channels.end.hasSubscribers, channels.block.hasSubscribers]).toEqual([false, false, false, false]);
  });

  it('subscribes while tracing only, and records greenlets and waits between start and stop', async () => {
    const before = spawn(() => sleep(1)); // finished before the trace: not in it
    await before.join();
    startTrace();
    startTrace(); // no-op
    expect(isTracing()).toBe(true);
    expect(channels.ioEnd.hasSubscribers).toBe(true);
    const gs = [1, 2].map((n) => spawn(async function nap() { await sleep(5 * n); }));
    await joinAll(gs);
    const events = stopTrace();
    expect(channels.ioEnd.hasSubscribers).toBe(false);
    expect(traceProblems(events)).toEqual([]);
    const tracks = events.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
    expect(tracks).toEqual(['main', ...gs.map((g) => `${g.name} (nap)`)]);
    expect(events.filter((e) => e.ph === 'X' && e.name === 'sleep')).toHaveLength(2);
    expect(events.filter((e) => e.ph === 'X' && e.name === 'joinAll')).toHaveLength(1);
  });

  it('keeps at most maxOps ops, and says how many it dropped', async () => {
    startTrace({ maxOps: 1 });
    await sleep(1);
    await sleep(1);
    const events = stopTrace();
    expect(events.filter((e) => e.ph === 'X' && e.name === 'sleep')).toHaveLength(1);
    expect(events.find((e) => e.name === 'dropped_ops')?.args).toEqual({ count: 1 });
    expect(() => startTrace({ maxOps: -1 })).toThrow(RangeError);
    expect(isTracing()).toBe(false);
  });

  it('puts kinds in colour groups', () => {
    expect(['fs.stat', 'FileHandle.read', 'net read', 'dns.lookup', 'fetch', 'http.request', 'sleep', 'timer', 'queue.get', 'event.wait', 'event data', 'child_process exit']
      .map(kindCategory)).toEqual(['fs', 'fs', 'net', 'dns', 'http', 'http', 'timer', 'timer', 'sync', 'sync', 'stream', 'child_process']);
  });
});
