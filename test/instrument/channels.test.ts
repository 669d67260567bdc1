import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { channelNames, channels, subscribe } from '../../src/instrument/channels.js';
import { spawn } from '../../src/greenlet.js';
import { Lock } from '../../src/lock.js';
import { Queue } from '../../src/queue.js';
import { runFixture, type FixtureRun } from '../run-fixture.js';

describe('diagnostics_channel channels', () => {
  it('are the channels diagnostics_channel returns for the API names', () => {
    expect(channelNames).toEqual([
      'greenio:greenlet:spawn',
      'greenio:greenlet:start',
      'greenio:greenlet:end',
      'greenio:io:start',
      'greenio:io:end',
      'greenio:block',
    ]);
    const byName = [channels.spawn, channels.start, channels.end, channels.ioStart, channels.ioEnd, channels.block];
    channelNames.forEach((name, i) => expect(diagnostics.channel(name)).toBe(byName[i]));
  });

  it('subscribe() returns the unsubscriber, and a channel has subscribers only in between', () => {
    expect(channels.ioEnd.hasSubscribers).toBe(false);
    const off = subscribe('greenio:io:end', () => {});
    expect(channels.ioEnd.hasSubscribers).toBe(true);
    off();
    off(); // twice is harmless
    expect(channels.ioEnd.hasSubscribers).toBe(false);
  });

  it('io:start and io:end name the same primitive for a wait on a Queue or a Lock (not its weak wait target)', async () => {
    const q = new Queue<number>();
    const lock = new Lock();
    const seen: { ch: string; detail: unknown }[] = [];
    const offs = (['greenio:io:start', 'greenio:io:end'] as const).map((name) =>
      subscribe(name, (m) => {
        const d = (m as { detail: unknown }).detail;
        if (d === q || d === lock || (typeof d === 'object' && d !== null && !(d instanceof Queue) && !(d instanceof Lock) && /Queue|Lock/.test(String(d)))) seen.push({ ch: name, detail: d });
      }),
    );
    try {
      await lock.acquire();
      const getter = spawn(() => q.get());
      const locker = spawn(async () => {
        await lock.acquire();
        lock.release();
      });
      await new Promise((r) => setTimeout(r, 20));
      q.put(7);
      lock.release();
      expect(await getter.get()).toBe(7);
      await locker.get();
    } finally {
      for (const off of offs) off();
    }
    expect(seen).toEqual([
      expect.objectContaining({ ch: 'greenio:io:start' }),
      expect.objectContaining({ ch: 'greenio:io:start' }),
      expect.objectContaining({ ch: 'greenio:io:end' }),
      expect.objectContaining({ ch: 'greenio:io:end' }),
    ]);
    expect(seen.filter((e) => e.detail === q).map((e) => e.ch)).toEqual(['greenio:io:start', 'greenio:io:end']);
    expect(seen.filter((e) => e.detail === lock).map((e) => e.ch)).toEqual(['greenio:io:start', 'greenio:io:end']);
  });

  it('subscribe() rejects an unknown channel or a non-function with a TypeError', () => {
    expect(() => subscribe('greenio:nope' as 'greenio:block', () => {})).toThrow(TypeError);
    expect(() => subscribe('greenio:block', 'x' as unknown as () => void)).toThrow(/Expected `fn` to be a function, got `'x'` \(string\)/);
  });
});

describe('channel messages for a scripted workload (3 greenlets x 2 file reads + 1 sleep)', () => {
  let run: FixtureRun;
  let j: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed JSON
  sharedRun(() => {
    run = runFixture('instrument-workload.ts');
    j = run.json;
  }, 30_000);

  it('runs the workload', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(j.values).toEqual(['alpha+beta', 'alpha+beta', 'alpha+beta']);
  });

  it('publishes nothing before anyone subscribes: no channel has subscribers before or after', () => {
    expect(Object.values(j.before.hasSubscribers)).toEqual([false, false, false, false, false, false]);
    expect(Object.values(j.during)).toEqual([true, true, true, true, true, true]);
    expect(Object.values(j.after)).toEqual([false, false, false, false, false, false]);
  });

  it('spawn, start and end once per greenlet, in lifecycle order, with the outcome', () => {
    expect(j.seen['greenio:greenlet:spawn']).toBe(3);
    expect(j.seen['greenio:greenlet:start']).toBe(3);
    expect(j.seen['greenio:greenlet:end']).toBe(3);
    for (const name of ['reader-1', 'reader-2', 'reader-3']) {
      const mine = j.lifecycle.filter((e: { greenlet: string }) => e.greenlet === name).map((e: { channel: string }) => e.channel);
      expect(mine).toEqual(['greenio:greenlet:spawn', 'greenio:greenlet:start', 'greenio:greenlet:end']);
    }
    const ends = j.lifecycle.filter((e: { channel: string }) => e.channel === 'greenio:greenlet:end');
    expect(ends.every((e: { ok: boolean; value: string }) => e.ok && e.value === 'alpha+beta')).toBe(true);
  });

  it('io:start and io:end pair up: 6 fs.readFile and 3 sleep in the readers, 1 joinAll in main', () => {
    expect(j.seen['greenio:io:start'], JSON.stringify(j.ioStart)).toBe(10);
    expect(j.seen['greenio:io:end']).toBe(10);
    const kinds = (list: Array<{ greenlet: string; kind: string }>): string[] => list.map((e) => `${e.greenlet} ${e.kind}`).sort();
    expect(kinds(j.ioStart)).toEqual(kinds(j.ioEnd));
    for (const name of ['reader-1', 'reader-2', 'reader-3']) {
      const mine = j.ioEnd.filter((e: { greenlet: string }) => e.greenlet === name).map((e: { kind: string }) => e.kind);
      expect(mine).toEqual(['fs.readFile', 'fs.readFile', 'sleep']);
    }
    expect(j.ioEnd.filter((e: { greenlet: string }) => e.greenlet === 'main').map((e: { kind: string }) => e.kind)).toEqual(['joinAll']);
  });

  it('io:end carries the detail and the duration: the path read, and ~50 ms for each sleep', () => {
    const reads = j.ioEnd.filter((e: { kind: string }) => e.kind === 'fs.readFile');
    expect(reads.every((e: { detail: string }) => /greenio-workload-.*[/\\][ab]\.txt$/.test(e.detail))).toBe(true);
    const sleeps = j.ioEnd.filter((e: { kind: string }) => e.kind === 'sleep');
    for (const s of sleeps) expect(s.durationMs).toBeGreaterThanOrEqual(45);
    for (const s of sleeps) expect(s.durationMs).toBeLessThan(1000);
  });

  it('greenio:block reports the *Sync call with its greenlet and call site', () => {
    expect(j.seen['greenio:block']).toBe(1);
    expect(j.blocks).toEqual([
      { type: 'sync', call: 'fs.readFileSync', greenlet: 'reader-2', site: expect.stringMatching(/^reader \(.*instrument-workload\.ts:\d+:\d+\)$/) },
    ]);
  });
});
