import { describe, expect, it } from 'vitest';
import { Queue, joinAll, sleep, spawn } from '../../src/index.js';
import { channels } from '../../src/instrument/channels.js';
import { formatReport, startReport, stopReport } from '../../src/instrument/report.js';

/** The table's rows as arrays of cells (columns are separated by two spaces or more). */
function table(text: string): string[][] {
  return text.split('\n').slice(1).filter((l) => l && !/^-+/.test(l) && !l.startsWith('...')).map((l) => l.split(/ {2,}/));
}

describe('the IO report', () => {
  it('lists each greenlet that finished since startReport(), with lifetime, IO per kind and sync calls', async () => {
    startReport();
    expect(channels.end.hasSubscribers).toBe(true);
    const q = new Queue<number>();
    const producer = spawn(async function produce() {
      for (let i = 0; i < 3; i++) {
        await sleep(10);
        await q.put(i);
      }
    });
    const consumer = spawn(async function consume() {
      for (let i = 0; i < 3; i++) await q.get();
    });
    const failing = spawn(async function fail() {
      await sleep(1);
      throw new Error('no');
    });
    await joinAll([producer, consumer, failing]);
    const live = spawn(async function linger() {
      await sleep(5000);
    });
    await sleep(5);
    const text = formatReport();
    const rows = table(text);
    const head = rows[0]!;
    expect(head.slice(0, 3)).toEqual(['greenlet', 'function', 'lifetime']);
    expect(head).toContain('sleep');
    expect(head).toContain('queue.get');
    expect(head[head.length - 1]).toBe('sync calls');
    const row = (label: string): Record<string, string> => {
      const r = rows.find((x) => x[0] === label)!;
      return Object.fromEntries(head.map((h, i) => [h, r[i] ?? '']));
    };
    expect(row(`#${producer.id} ${producer.name}`)).toMatchObject({ function: 'produce', sleep: expect.stringMatching(/^3 \/ \d+ ms$/), 'sync calls': '-' });
    expect(row(`#${producer.id} ${producer.name}`).lifetime).toMatch(/^\d+ ms$/);
    expect(row(`#${consumer.id} ${consumer.name}`)['queue.get']).toMatch(/^3 \/ \d+ ms$/);
    expect(row(`#${failing.id} ${failing.name}`).lifetime).toMatch(/, failed$/);
    expect(row(`#${live.id} ${live.name}`).lifetime).toMatch(/, alive$/);
    expect(rows.find((x) => x[0] === '#0 main')).toBeDefined();
    const total = rows.find((x) => x[0] === 'total')!;
    expect(total[head.indexOf('queue.get') - 2]).toMatch(/^3 \//); // the total row has no function/lifetime cells
    expect(text.split('\n')[0]).toMatch(/^greenio report \(pid \d+\): 3 greenlet\(s\) finished, 1 alive/);
    await live.kill();
    failing.exception; // observed
    stopReport();
    expect(channels.end.hasSubscribers).toBe(false);
  });

  it('lists only the `limit` greenlets that waited longest, and counts all of them in the total', async () => {
    startReport();
    const gs = Array.from({ length: 12 }, (_, i) => spawn(async function nap() {
      await sleep(i === 7 ? 60 : 1);
    }));
    await joinAll(gs);
    const text = formatReport({ limit: 3, columns: 1 });
    stopReport();
    const rows = table(text);
    const listed = rows.filter((r) => /^#\d+ /.test(r[0]!) && r[0] !== '#0 main');
    expect(listed).toHaveLength(3);
    expect(listed.map((r) => r[0])).toContain(`#${gs[7]!.id} ${gs[7]!.name}`);
    expect(text).toMatch(/\.\.\. 9 more greenlet\(s\) not listed \(counted in the total\)/);
    expect(rows.find((r) => r[0] === 'total')![1]).toMatch(/^1[23] \//); // 12 sleeps (+ main's, if any)
  });

  it('folds rows past maxRows into the total', async () => {
    startReport({ maxRows: 2 });
    await joinAll(Array.from({ length: 5 }, () => spawn(() => sleep(1))));
    const text = formatReport();
    stopReport();
    expect(text).toMatch(/5 greenlet\(s\) finished/);
    expect(text).toMatch(/\.\.\. 3 more greenlet\(s\) not listed/);
  });

  it('without startReport() shows main and the live greenlets only; bad options throw', async () => {
    expect(formatReport()).toMatch(/0 greenlet\(s\) finished/);
    expect(() => formatReport({ limit: -1 })).toThrow(RangeError);
    expect(() => formatReport({ columns: 1.5 })).toThrow(RangeError);
    expect(() => startReport({ maxRows: 'x' as never })).toThrow(TypeError);
  });
});
