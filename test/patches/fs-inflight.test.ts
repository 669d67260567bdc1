import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatRunInfo, GreenletExit, sleep, spawn } from '../../src/index.js';
import { stats } from '../../src/instrument/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { tempDir } from '../helpers.js';

// Many callback ops in flight in one flow (the hub keeps them as a list through the ops:
// src/hub/oplist.ts): each is listed, ended once, accounted, and a kill aborts every one
// still in flight, in the main greenlet as in a spawned one.
const { dir, cleanup } = tempDir('greenio-fs-inflight-');
const COUNT = 150;
const files = Array.from({ length: COUNT }, (_, i) => join(dir, `f${i}`));
for (const f of files) fs.writeFileSync(f, 'x');
patchAll({ warnLate: false });
afterAll(() => {
  unpatchAll();
  cleanup();
});

type Call = { err: unknown; calls: number };
function startAll(): { calls: Call[]; done: Promise<void> } {
  const calls: Call[] = files.map(() => ({ err: undefined, calls: 0 }));
  let left = COUNT;
  let finish!: () => void;
  const done = new Promise<void>((res) => (finish = res));
  files.forEach((f, i) =>
    fs.stat(f, (err) => {
      calls[i]!.calls++;
      calls[i]!.err = err;
      if (--left === 0) finish();
    }),
  );
  return { calls, done };
}

// The run-info lines naming our files, in the order listed. The name is read after the
// directory's separator: mkdtemp's random suffix can itself hold an 'f' and a digit.
const listed = (info: string): string[] =>
  info
    .split('\n')
    .filter((l) => l.includes(dir))
    .map((l) => /^[\\/](f\d+)/.exec(l.slice(l.indexOf(dir) + dir.length))?.[1] ?? `unparsed: ${l}`);

describe(`${COUNT} fs.stat callbacks in flight in one flow`, () => {
  for (const where of ['main', 'a greenlet'] as const) {
    it(`in ${where}: listed in the order begun, each callback once, all accounted`, async () => {
      const before = stats().io['fs.stat']?.count ?? 0;
      const run = async (): Promise<{ info: string; calls: Call[] }> => {
        const { calls, done } = startAll();
        const info = formatRunInfo({ stacks: false });
        await done;
        return { info, calls };
      };
      const { info, calls } = where === 'main' ? await run() : await spawn(run).get();
      expect(listed(info)).toEqual(files.map((_, i) => `f${i}`));
      expect(calls.every((c) => c.calls === 1 && c.err === null)).toBe(true);
      expect(stats().io['fs.stat']!.count - before).toBe(COUNT);
      expect(stats().io['fs.stat']!.active).toBe(0);
      expect(listed(formatRunInfo({ stacks: false }))).toEqual([]);
    });
  }

  it('a kill aborts every one still in flight: each callback once, with the GreenletExit if it had not completed', async () => {
    let calls: Call[] = [];
    let started!: () => void;
    const ready = new Promise<void>((r) => (started = r));
    const g = spawn(async () => {
      calls = startAll().calls;
      started();
      await sleep(60_000);
    });
    await ready; // a microtask later: no stat can have called back yet (that takes a loop turn)
    expect(listed(formatRunInfo({ stacks: false }))).toEqual(files.map((_, i) => `f${i}`));
    await g.kill();
    // Late results of aborted stats must not reach their callbacks: give them time to arrive.
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.length).toBe(COUNT);
    expect(calls.every((c) => c.calls === 1)).toBe(true);
    const killed = calls.filter((c) => c.err instanceof GreenletExit).length;
    expect(calls.filter((c) => c.err !== null && !(c.err instanceof GreenletExit))).toEqual([]);
    expect(killed).toBe(COUNT);
    expect(stats().io['fs.stat']!.active).toBe(0);
    expect(listed(formatRunInfo({ stacks: false }))).toEqual([]);
  });
});
